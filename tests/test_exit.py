"""No thread, connection or child outlives the bot, however it ends. Here the hardest
case: a harness (or a deployment's own code) that builds the bot the real way,
`create_bot(settings)` with no injected service, drives `/reload` and a knowledge
question through simcord, and then returns without ever calling `bot.close()`. The
process must still end promptly and cleanly, with no llama-server left behind. Before
the store let its connections go at exit, aiosqlite's (non-daemon) worker thread held
`threading._shutdown` (the process never ended), or the service's guard failed inside it
(AttributeError: 'SQLiteDatabase' object has no attribute 'stop'), and the process only
ended because that exception skipped the join.

It runs in its own Python process: only a process of its own shows whether something
keeps it from exiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXIT_WITHIN_S = 10.0

SCENARIO = r"""
import asyncio, sys
import discord, simcord
from bot.discord import create_bot
from bot.settings import Settings

async def main():
    settings = Settings(data_dir=sys.argv[1], _env_file=None, n_threads=1, max_tokens=16, sync_commands=True)
    bot = create_bot(settings)  # no service: the bot opens the store and starts the model server
    async with simcord.run(bot, settle_timeout=240) as env:
        guild = env.create_guild("Exit")
        channel = guild.create_text_channel("general")
        admins = guild.create_role("Admins", permissions=discord.Permissions(administrator=True))
        admin = guild.add_member(env.create_user("admin"), roles=[admins])
        result = await admin.slash(channel, "reload")
        assert result.followups and result.followups[-1].content.startswith("Reloaded."), result.followups
        await admin.send(channel, f"<@{env.bot.user.id}> why does memory bandwidth matter for LLM speed?")
        print("SERVER", bot.service._knowledge.server.pid, flush=True)
    print("DONE", flush=True)  # and return: no bot.close(), no service.close()

asyncio.run(main())
"""


def test_a_bot_nobody_closes_still_lets_the_process_exit(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    for key in [k for k in env if k.startswith("RIGBOT_") or k == "DISCORD_TOKEN"]:
        env.pop(key)
    proc = subprocess.Popen([sys.executable, "-c", SCENARIO, str(tmp_path / "data")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server_pid = None
    done_at = None
    try:
        deadline = time.monotonic() + 400
        for line in proc.stdout:  # until the scenario says it has returned
            if line.startswith("SERVER "):
                server_pid = int(line.split()[1])
            if line.startswith("DONE"):
                done_at = time.monotonic()
                break
            assert time.monotonic() < deadline, "the scenario took too long"
        assert done_at is not None, f"the scenario failed:\n{proc.stderr.read()[-3000:]}"
        try:
            proc.wait(timeout=EXIT_WITHIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the process was still running {EXIT_WITHIN_S:g} s after the bot was left unclosed: "
                        f"{_thread_names(proc.pid)}")
        exited_s = time.monotonic() - done_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    err = proc.stderr.read()
    assert proc.returncode == 0, err[-3000:]
    assert exited_s < EXIT_WITHIN_S
    # a clean exit, not one that happens because a shutdown hook failed: main's guard called a
    # stop() the database does not have, and the AttributeError inside threading._shutdown
    # skipped the join of the aiosqlite thread (the process ended by accident, traceback printed)
    assert "Exception ignored" not in err and "Traceback" not in err, err[-3000:]
    assert server_pid is not None
    gone = time.monotonic() + 5
    while psutil.pid_exists(server_pid) and psutil.Process(server_pid).status() != psutil.STATUS_ZOMBIE \
            and time.monotonic() < gone:
        time.sleep(0.05)
    assert not psutil.pid_exists(server_pid) or psutil.Process(server_pid).status() == psutil.STATUS_ZOMBIE, \
        "the llama-server child outlived the bot"


def test_ctrl_c_while_the_console_waits_for_a_line_ends_it(tmp_path):
    """The console read stdin through asyncio.to_thread, whose pool threads asyncio.run
    joins at shutdown: after Ctrl-C the process waited for Enter (seen: still running 15 s
    later). It reads on a daemon thread of its own now."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               RIGBOT_DATA_DIR=str(tmp_path / "data"))
    env.pop("DISCORD_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "chat"], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        seen = b""
        deadline = time.monotonic() + 60
        while b"you>" not in seen and time.monotonic() < deadline:
            seen += os.read(proc.stdout.fileno(), 4096)
        assert b"you>" in seen, seen[-2000:]
        time.sleep(0.3)
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(EXIT_WITHIN_S)
        assert time.monotonic() - interrupted < EXIT_WITHIN_S
        assert proc.returncode == 130, "the CLI's code for Ctrl-C"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def _thread_names(pid: int) -> str:
    """The stuck process's threads, by their kernel names (e.g. aiosqlite's worker)."""
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:
            pass
    return f"{len(names)} threads: {sorted(names)}"
