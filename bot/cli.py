"""`python -m bot ...`: the command-line adapter over RigBotService."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Annotated

import typer

app = typer.Typer(
    help="RigBot: can my hardware run this LLM, and how fast?",
    add_completion=False,
    no_args_is_help=False,
    invoke_without_command=True,
)


def _settings():
    from bot.settings import Settings

    return Settings()


async def _service(probe: bool = False):
    from bot.service import RigBotService

    return await RigBotService(_settings()).start(probe=probe)


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
    question: Annotated[str | None, typer.Argument(help="The question; omit with --json to read lines from stdin.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as one JSON object (per line).")] = False,
) -> None:
    """Answer one question (or, with --json and no question, one per stdin line)."""
    from bot.render import after_stream, to_text

    async def main() -> int:
        service = await _service()
        try:
            if question is None and as_json:
                for line in sys.stdin:
                    answer = await service.ask(line.rstrip("\n"))
                    sys.stdout.write(answer.to_json() + "\n")
                    sys.stdout.flush()
                return 0
            if question is None:
                typer.echo("Give a question, e.g.: python -m bot ask \"can a 3060 12GB run 13B 4-bit?\"", err=True)
                return 2

            streamed: list[str] = []

            def stream(token: str) -> None:
                streamed.append(token)
                sys.stdout.write(token)
                sys.stdout.flush()

            answer = await service.ask(question, on_token=None if as_json else stream)
            if as_json:
                typer.echo(answer.to_json())
            elif streamed:
                typer.echo("\n\n" + after_stream(answer, "".join(streamed)))
            else:
                typer.echo(to_text(answer))
            return 0
        finally:
            await service.close()

    raise typer.Exit(asyncio.run(main()))


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
def chat() -> None:
    """Interactive console that answers exactly as the bot does in Discord."""
    from bot.console import run_console

    asyncio.run(run_console(_settings()))


@app.command()
def run() -> None:
    """Connect to Discord (token from DISCORD_TOKEN)."""
    settings = _settings()
    if not settings.discord_token:
        typer.echo("DISCORD_TOKEN is not set; see README (Discord setup) or use `python -m bot chat`.", err=True)
        raise typer.Exit(2)
    from bot.discord import MissingToken, run_bot

    try:
        run_bot(settings)
    except MissingToken as exc:  # a token Discord rejects, or the intent switched off
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # no route to discord.com at login
        logging.getLogger(__name__).debug("login failed", exc_info=True)
        typer.echo(f"Could not reach Discord ({exc}); check the network and try again.", err=True)
        raise typer.Exit(1) from None


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
            typer.echo(f"Reload failed, the previous index and catalogs keep serving: {exc}", err=True)
            return 1
        finally:
            await service.close()

    raise typer.Exit(asyncio.run(main()))


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

    async def main() -> dict:
        service = await _service(probe=True)
        try:
            return await service.stats()
        finally:
            await service.close()

    data = asyncio.run(main())
    typer.echo(json.dumps(data, indent=2) if as_json else render_stats(data))


@app.command()
def health() -> None:
    """Exit 0 when the catalogs load and the SQLite log opens (container health check)."""

    async def main() -> int:
        from rules.catalog import default_catalog

        default_catalog()
        service = await _service()
        try:
            await service.store.answer_counts()
            return 0
        finally:
            await service.close()

    try:
        code = asyncio.run(main())
    except Exception as exc:
        typer.echo(f"unhealthy: {exc}", err=True)
        code = 1
    if code == 0:
        typer.echo("ok")
    raise typer.Exit(code)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app()
