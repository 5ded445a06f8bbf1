"""The local console: the same service and the same answers as in Discord."""

from __future__ import annotations

import asyncio
import sys

from bot.render import after_stream, to_text
from bot.service import RigBotService

BANNER = ("RigBot console: ask “can a 3060 12GB run 13B 4-bit?” or “why does memory bandwidth "
          "matter?”. Each line may follow up the last (“and at 32k context?”). "
          "Commands: /new (start a new conversation), /stats, /reload, /quit.")


async def run_console(settings, stdin=None, stdout=None) -> None:
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    service = await RigBotService(settings).start(probe=True)
    out.write(BANNER + "\n")
    try:
        while True:
            out.write("\nyou> ")
            out.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            line = line.strip()
            if line in {"/quit", "/exit"}:
                break
            if line == "/new":
                if service.store is not None:
                    await service.store.clear_conversation("console", "console")
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
            out.write("rigbot> ")
            streamed: list[str] = []

            def token(piece: str, streamed: list[str] = streamed) -> None:
                streamed.append(piece)
                out.write(piece)
                out.flush()

            def queued(position: int) -> None:
                out.write(f"(waiting, position {position} in the queue) ")

            answer = await service.ask(line, user_id="console", on_token=token, on_queue=queued,
                                       conversation=("console", "console"))  # each line continues it
            out.write(("\n\n" + after_stream(answer, "".join(streamed)) if streamed else to_text(answer)) + "\n")
            out.flush()
    finally:
        await service.close()
