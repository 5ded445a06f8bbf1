"""The local console: the same service and the same answers as in Discord."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading

from bot.render import after_stream, to_text
from bot.service import RigBotService

LOCAL_USER = "console"  # the console's and the CLI's user id (saved rig, reports, conversation)
END_OF_BLOCK = "."  # a line holding only this ends a pasted block (logs contain blank lines)

BANNER = ("RigBot console: ask “can a 3060 12GB run 13B 4-bit?” or “why does memory bandwidth "
          "matter?”. Each line may follow up the last (“and at 32k context?”). "
          "Commands: /paste (a question over several lines: tool output, a llama.cpp log), "
          "/myrig (save your hardware: type it or paste nvidia-smi, rocm-smi, macOS or lscpu + free output; "
          "/myrig show, /myrig clear), "
          "/report (a speed you measured, or llama-bench output; /report list, /report delete), "
          "/new (start a new conversation), /stats, /reload, /quit.")


async def read_line(stdin) -> str:
    """One line of input, read on a daemon thread of its own. Not asyncio.to_thread: its
    pool threads are joined when the loop shuts down, so Ctrl-C while the console waited
    for a line left the process waiting for Enter."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str] = loop.create_future()

    def deliver(set_it, value) -> None:
        if not line.done():
            set_it(value)

    def read() -> None:
        try:
            text = stdin.readline()
        except BaseException as exc:  # noqa: BLE001 (handed to the waiting coroutine)
            result = (line.set_exception, exc)
        else:
            result = (line.set_result, text)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(deliver, *result)

    threading.Thread(target=read, name="rigbot console input", daemon=True).start()
    return await line


async def read_block(stdin, out, first: str = "") -> str:
    """Lines pasted after a command, up to a line holding only "." (or end of input):
    tool output and llama.cpp logs span many lines, blank ones included."""
    out.write(f"(paste, then a line with only {END_OF_BLOCK} to finish)\n")
    out.flush()
    lines = [first] if first else []
    while True:
        line = await read_line(stdin)
        if not line or line.strip() == END_OF_BLOCK:
            return "\n".join(lines)
        lines.append(line.rstrip("\n"))


async def _report(service: RigBotService, stdin, out, rest: str) -> str:
    """`/report list`, `/report delete [N]`, `/report <speed>`; a bare `/report` reads a
    pasted llama-bench table up to a line with only "."."""
    words = rest.split()
    if words[:1] == ["list"]:
        return await service.reports.listing(LOCAL_USER)
    if words[:1] == ["delete"] and (len(words) == 1 or (len(words) == 2 and words[1].isdigit())):
        return await service.reports.delete(LOCAL_USER, int(words[1]) if len(words) == 2 else None)
    text = rest or (await read_block(stdin, out)).strip()
    if not text:
        return "(nothing reported)"
    return (await service.reports.submit(LOCAL_USER, text)).text


async def _myrig(service: RigBotService, rest: str, stdin, out) -> str:
    """`/myrig` (paste a block), `/myrig TEXT`, `/myrig show`, `/myrig clear`: the
    console user's saved rig, which later questions without hardware use."""
    import re

    if rest in {"show", "clear"}:
        reply = await (service.show_rig(LOCAL_USER) if rest == "show" else service.clear_rig(LOCAL_USER))
    else:
        text = re.sub(r"^set\b\s*", "", rest)  # "/myrig set TEXT" as in Discord, or "/myrig TEXT"
        if not text:
            text = await read_block(stdin, out)
        reply = await service.set_rig(LOCAL_USER, text)
    return re.sub(r"\*\*(.+?)\*\*", r"\1", reply.text)


async def run_console(settings, stdin=None, stdout=None) -> None:
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    service = await RigBotService(settings).start(probe=True)
    out.write(BANNER + "\n")
    try:
        while True:
            out.write("\nyou> ")
            out.flush()
            line = await read_line(stdin)
            if not line:
                break
            line = line.strip()
            if line in {"/quit", "/exit"}:
                break
            if line == "/new":
                if service.store is not None:
                    await service.store.clear_conversation(LOCAL_USER, LOCAL_USER)
                out.write("(new conversation)\n")
                continue
            if line == "/stats":
                from bot.stats import render_stats

                out.write(render_stats(await service.stats()) + "\n")
                continue
            if line == "/reload":
                try:
                    out.write(f"reloaded: {await service.reload()}\n")
                except Exception as exc:
                    out.write(f"reload failed, still serving the previous index: {exc}\n")
                continue
            if line == "/myrig" or line.startswith("/myrig "):
                out.write(await _myrig(service, line.removeprefix("/myrig").strip(), stdin, out) + "\n")
                continue
            if line == "/report" or line.startswith("/report "):
                out.write(await _report(service, stdin, out, line.removeprefix("/report").strip()) + "\n")
                continue
            if line == "/paste" or line.startswith("/paste "):
                line = (await read_block(stdin, out, line.removeprefix("/paste").strip())).strip()
                if not line:
                    continue
            out.write("rigbot> ")
            streamed: list[str] = []

            def token(piece: str, streamed: list[str] = streamed) -> None:
                streamed.append(piece)
                out.write(piece)
                out.flush()

            def queued(position: int) -> None:
                out.write(f"(waiting, position {position} in the queue) ")

            answer = await service.ask(line, user_id=LOCAL_USER, on_token=token, on_queue=queued,
                                       conversation=(LOCAL_USER, LOCAL_USER))  # each line continues it
            out.write(("\n\n" + after_stream(answer, "".join(streamed)) if streamed else to_text(answer)) + "\n")
            out.flush()
    finally:
        await service.close()
