"""`python -m bot ...`: the command-line adapter over RigBotService."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from bot import logfile

app = typer.Typer(
    help="RigBot: can my hardware run this LLM, and how fast?",
    add_completion=False,
    no_args_is_help=False,
    invoke_without_command=True,
)


log = logging.getLogger(__name__)
THREAD_GRACE_S = 3.0  # after a command, how long a leftover thread may take to end


@functools.cache
def _settings():
    from bot.settings import Settings

    return Settings()


async def _service(probe: bool = False):
    from bot.service import RigBotService

    return await RigBotService(_settings()).start(probe=probe)


def explain(exc: BaseException) -> str:
    """One sentence for the person at the terminal; the traceback is in the log."""
    from bot.store import StoreUnavailable

    where = f"details are in {logfile.log_path()}"
    if isinstance(exc, StoreUnavailable):
        return f"{str(exc).rstrip('.')} ({where})."
    if exc.__class__.__name__ == "ValidationError":  # pydantic: a setting has a wrong value
        first = exc.errors()[0] if hasattr(exc, "errors") and exc.errors() else {}
        field = "_".join(str(part) for part in first.get("loc", ())).upper()
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        if not field:  # a rule over several settings: its message names them
            return f"The settings do not fit together: {message}; fix them in the environment or .env."
        name = field if field == "DISCORD_TOKEN" else f"RIGBOT_{field}"
        return f"The setting {name} is invalid ({message}); fix it in the environment or .env."
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"RigBot stopped on an unexpected error ({type(exc).__name__}{': ' + text[:200] if text else ''}); {where}."


def finish(code: int) -> NoReturn:
    """Exit now with `code`. Connections are closed by then; should a non-daemon
    thread still be alive (it would keep the interpreter waiting), say so in the
    log and end the process anyway."""
    deadline = time.monotonic() + THREAD_GRACE_S
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate()
             if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if stuck:
        log.warning("threads still running at exit (%s); ending the process", ", ".join(stuck))
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    raise typer.Exit(code)


def run_command(main: Callable[[], Awaitable[int]], what: str, prefix: str = "") -> NoReturn:
    """Run a command's coroutine (which closes what it opened in its `finally`), then
    exit: its code; on any failure 1 and one sentence on stderr, traceback in the log;
    130 on Ctrl-C."""
    try:
        code = asyncio.run(main())
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        logfile.failure(what, exc)
        typer.echo(prefix + explain(exc), err=True)
        code = 1
    finish(code)


@app.callback()
def default(ctx: typer.Context) -> None:
    """With no command: Discord when DISCORD_TOKEN is set, else the local console."""
    if ctx.invoked_subcommand is None:
        if _settings().discord_token:
            run()
        else:
            chat()


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question; omit with --json to read lines from stdin. "
                                                 "Name a runtime (vLLM, SGLang, TensorRT-LLM, ExLlama, MLX, "
                                                 "ktransformers, transformers) for its own sizing and command.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as one JSON object (per line).")] = False,
    file: Annotated[Path | None, typer.Option(
        "--file", help="A llama.cpp / Ollama / LM Studio log (or other tool output) to read with the question, "
                       "e.g. --file server.log \"why is it slow?\"")] = None,
) -> None:
    """Answer one question (or, with --json and no question, one per stdin line); a
    question that names no hardware uses your saved rig (`rig set`). --file reads a log
    (or other tool output) with the question."""
    from bot.console import LOCAL_USER
    from bot.paste import with_attachment
    from bot.render import after_stream, to_text

    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            typer.echo(f"Cannot read {file}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
        from bot.settings import Settings

        text, problem = with_attachment(question, file.name, data, Settings().max_paste_chars)
        if problem:
            typer.echo(problem, err=True)
            raise typer.Exit(2)
        question = text
    if question is None and not as_json:
        typer.echo("Give a question, e.g.: python -m bot ask \"can a 3060 12GB run 13B 4-bit?\"", err=True)
        raise typer.Exit(2)

    async def main() -> int:
        service = await _service()
        try:
            if question is None:
                for line in sys.stdin:
                    answer = await service.ask(line.rstrip("\n"), user_id=LOCAL_USER)
                    sys.stdout.write(answer.to_json() + "\n")
                    sys.stdout.flush()
                return 0

            streamed: list[str] = []

            def stream(token: str) -> None:
                streamed.append(token)
                sys.stdout.write(token)
                sys.stdout.flush()

            answer = await service.ask(question, user_id=LOCAL_USER, on_token=None if as_json else stream)
            if as_json:
                typer.echo(answer.to_json())
            elif streamed:
                typer.echo("\n\n" + after_stream(answer, "".join(streamed)))
            else:
                typer.echo(to_text(answer))
            return 0
        finally:
            await service.close()

    run_command(main, "ask")


@app.command()
def size(
    path: Annotated[str, typer.Argument(help="A local .gguf file (the first part of a split GGUF).")],
    context: Annotated[int | None, typer.Option("--context", "-c", help="Context length in tokens.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as one JSON object.")] = False,
) -> None:
    """Size a GGUF from its own header: exact weights, KV cache, GPU and RAM needed."""
    from bot.answer import Answer
    from bot.render import to_text
    from rules.engine import answer_query
    from rules.schema import Intent, Query

    result = answer_query(Query(intent=Intent.REQUIREMENTS, gguf_path=path, context=context))
    answer = Answer(question=f"size {path}", route="rules", **result.model_dump())
    typer.echo(answer.to_json() if as_json else to_text(answer))
    raise typer.Exit(1 if result.error else 0)


@app.command()
def recommend(
    hardware: Annotated[str, typer.Argument(help="The hardware, e.g. \"RTX 3090\", \"2x3090 and 64GB RAM\".")],
    use: Annotated[str | None, typer.Option(
        "--use", help="What the model is for: coding, reasoning, general, chinese, long_context, tool_use, "
                      "vision. Ranks the models that fit by benchmark evidence for it.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as one JSON object.")] = False,
) -> None:
    """The models that fit the hardware: ranked by quality evidence for a use, else by size."""
    from bot.answer import Answer
    from bot.questions import recommend_question
    from bot.render import to_text
    from rules.engine import answer_question
    from rules.quality import USES

    if use is not None and use not in USES:
        typer.echo(f"--use must be one of: {', '.join(USES)}", err=True)
        raise typer.Exit(2)
    question = recommend_question(hardware, use)
    result = answer_question(question)
    answer = Answer(question=question, route="rules", **result.model_dump())
    typer.echo(answer.to_json() if as_json else to_text(answer))
    raise typer.Exit(1 if result.error else 0)


@app.command()
def chat() -> None:
    """Interactive console that answers exactly as the bot does in Discord."""
    from bot.console import run_console

    async def main() -> int:
        await run_console(_settings())  # closes its service on every way out
        return 0

    run_command(main, "chat")


@app.command()
def run() -> None:
    """Connect to Discord (token from DISCORD_TOKEN)."""
    settings = _settings()
    if not settings.discord_token:
        typer.echo("DISCORD_TOKEN is not set; see README (Discord setup) or use `python -m bot chat`.", err=True)
        raise typer.Exit(2)
    from bot.discord import MissingToken, run_bot

    try:
        run_bot(settings)  # the bot closes its service (store, model client) when it stops
    except MissingToken as exc:  # a token Discord rejects, or the intent switched off
        typer.echo(str(exc), err=True)
        finish(2)
    except OSError as exc:  # no route to discord.com at login
        log.info("login failed", exc_info=True)
        typer.echo(f"Could not reach Discord ({exc}); check the network and try again.", err=True)
        finish(1)
    except KeyboardInterrupt:
        finish(130)
    except Exception as exc:  # a failed start (store, model) or a crash
        logfile.failure("run", exc)
        typer.echo(explain(exc), err=True)
        finish(1)
    finish(0)


@app.command()
def reload() -> None:
    """Rebuild the knowledge index and reload the catalogs."""
    from rich.progress import Progress

    async def main() -> int:
        service = await _service()
        try:
            with Progress() as progress:
                task = progress.add_task("embedding knowledge", total=None)

                def step(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                report = await service.reload(progress=step)
            typer.echo(json.dumps(report, indent=2))
            return 0
        except Exception as exc:
            logfile.failure("reload", exc)
            typer.echo(f"Reload failed, the previous index and catalogs keep serving: {exc}", err=True)
            return 1
        finally:
            await service.close()

    run_command(main, "reload")


@app.command()
def compare(
    model: Annotated[str, typer.Argument(help="A model, e.g. \"llama 3.1 8b\".")],
    out: Annotated[str | None, typer.Option("--out", help="Where to write the PNG chart.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON instead.")] = False,
) -> None:
    """One model across common GPUs and quantizations: a PNG chart of tokens/s and memory."""
    from pathlib import Path

    from rules.compare import compare as compare_model

    comparison = compare_model(model)
    if comparison.error:
        typer.echo(comparison.message, err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(comparison.model_dump_json())
        return
    from bot.charts import compare_png

    path = Path(out or f"compare-{comparison.model.lower().replace(' ', '-')}.png")
    path.write_bytes(compare_png(comparison))
    for row in comparison.summary():
        if best := row.fastest:
            typer.echo(f"{row.quant}: {row.total_gib:.1f} GiB; fastest on {best.gpu}, "
                       f"~{best.expected_tokens_per_s:g} tokens/s (likely {best.expected_range[0]:g}–"
                       f"{best.expected_range[1]:g})")
        else:
            typer.echo(f"{row.quant}: {row.total_gib:.1f} GiB; fits none of the compared cards whole")
    typer.echo(f"chart: {path}")


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Host hardware, measured LLM tokens/s (and the rule engine's prediction), answer counts."""
    from bot.stats import render_stats

    async def main() -> int:
        service = await _service(probe=True)
        try:
            data = await service.stats()
        finally:
            await service.close()
        typer.echo(json.dumps(data, indent=2) if as_json else render_stats(data))
        return 0

    run_command(main, "stats")


@app.command()
def report(
    words: Annotated[list[str] | None, typer.Argument(
        help="A measured speed: \"RTX 3090, llama 3.1 8b q4_k_m, 112 tok/s\"; or `list`; or `delete [NUMBER]`. "
             "Without words, llama-bench output is read from stdin.")] = None,
    tokens_per_s: Annotated[float | None, typer.Option("--tokens-per-s", help="The measured generation speed.")] = None,
) -> None:
    """Report a measured generation speed (or pasted llama-bench output); list or delete yours."""
    from bot.console import LOCAL_USER

    words = words or []

    async def main() -> int:
        service = await _service()
        try:
            reports = service.reports
            if words[:1] == ["list"]:
                typer.echo(await reports.listing(LOCAL_USER))
                return 0
            if words[:1] == ["delete"]:
                if len(words) > 2 or (len(words) == 2 and not words[1].isdigit()):
                    typer.echo("Usage: report delete [NUMBER] (numbers from `report list`)", err=True)
                    return 2
                typer.echo(await reports.delete(LOCAL_USER, int(words[1]) if len(words) == 2 else None))
                return 0
            text = " ".join(words) if words else sys.stdin.read()
            result = await reports.submit(LOCAL_USER, text, tokens_per_s=tokens_per_s)
        finally:
            await service.close()
        typer.echo(result.text, err=bool(result.error))
        return 0 if result.stored else 1

    run_command(main, "report")


@app.command()
def purge(user_id: Annotated[str, typer.Argument(help="The user id (a Discord user id, or `console`).")]) -> None:
    """Delete everything kept about one user: speed reports, saved rig, conversations, feedback text."""
    from bot.reports import SpeedReports

    async def main() -> int:
        service = await _service()
        try:
            done = await service.reports.purge(user_id)
        finally:
            await service.close()
        typer.echo(SpeedReports.purge_text(user_id, done))
        return 0

    run_command(main, "purge")


@app.command()
def health() -> None:
    """Exit 0 when the catalogs load and the store (SQLite file or PostgreSQL) opens
    (container health check)."""

    async def main() -> int:
        from rules.catalog import default_catalog

        default_catalog()
        service = await _service()
        try:
            await service.store.answer_counts()
        finally:
            await service.close()
        typer.echo("ok")
        return 0

    run_command(main, "health", prefix="unhealthy: ")


rig_app = typer.Typer(
    help="Your saved rig: questions that name no hardware (\"can I run qwen2.5 32b?\") use it, "
         "in `ask` and `chat` (the console's user). Stored as hardware fields only, never the text.",
    no_args_is_help=True)
app.add_typer(rig_app, name="rig")


def _rig_command(action: Callable, what: str) -> NoReturn:
    """Run one rig action on a service; print its reply (Markdown emphasis removed);
    exit 0, or 1 when nothing was saved or there was no rig."""
    import re

    async def main() -> int:
        service = await _service()
        try:
            reply = await action(service)
        finally:
            await service.close()
        typer.echo(re.sub(r"\*\*(.+?)\*\*", r"\1", reply.text))
        return 1 if reply.error else 0

    run_command(main, what)


@rig_app.command("set")
def rig_set(
    text: Annotated[str | None, typer.Argument(
        help="Your hardware, e.g. \"RTX 3090 and 64GB DDR5-6000\", or tool output; - reads standard input.")] = None,
    file: Annotated[str | None, typer.Option(
        "--file", help="A file with nvidia-smi, rocm-smi, macOS Hardware Overview or lscpu + free -g output.")] = None,
) -> None:
    """Save your hardware, typed or as tool output (nvidia-smi, rocm-smi, macOS, lscpu + free -g)."""
    from pathlib import Path

    from bot.console import LOCAL_USER
    from bot.saved_rig import MAX_RIG_FILE_BYTES, text_of_file

    parts = []
    if text == "-":
        parts.append(sys.stdin.read())
    elif text:
        parts.append(text)
    if file:
        path = Path(file)
        try:
            size = path.stat().st_size
            if size > MAX_RIG_FILE_BYTES:
                typer.echo(f"{file} is {size:,} bytes; tool output is read up to {MAX_RIG_FILE_BYTES:,} bytes. "
                           "Nothing was saved.", err=True)
                raise typer.Exit(2)
            content = text_of_file(path.read_bytes())
        except OSError as exc:
            typer.echo(f"Cannot read {file} ({exc.strerror or exc}). Nothing was saved.", err=True)
            raise typer.Exit(2) from None
        if content is None:
            typer.echo(f"{file} is not a text file (UTF-8 or UTF-16). Nothing was saved.", err=True)
            raise typer.Exit(2)
        parts.append(content)
    if not parts:
        typer.echo("Give your hardware, e.g.: rigbot rig set \"RTX 3090 and 64GB DDR5-6000\", "
                   "or --file nvidia-smi.txt, or - to read standard input.", err=True)
        raise typer.Exit(2)
    _rig_command(lambda service: service.set_rig(LOCAL_USER, "\n".join(parts)), "rig set")


@rig_app.command("show")
def rig_show() -> None:
    """Show your saved rig."""
    from bot.console import LOCAL_USER

    _rig_command(lambda service: service.show_rig(LOCAL_USER), "rig show")


@rig_app.command("clear")
def rig_clear() -> None:
    """Delete your saved rig."""
    from bot.console import LOCAL_USER

    _rig_command(lambda service: service.clear_rig(LOCAL_USER), "rig clear")


def main() -> None:
    """Entry point: the log goes to data_dir/rigbot.log (set up before any command)."""
    try:
        settings = _settings()
    except Exception as exc:  # a setting with a wrong value: say which, before anything starts
        logfile.setup(None)
        logfile.failure("reading the settings", exc)
        typer.echo(explain(exc), err=True)
        sys.exit(2)
    logfile.setup(settings.data_dir)
    app()
