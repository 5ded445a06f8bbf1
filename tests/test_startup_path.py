"""The real start-up path, as `./rigbot run` takes it: `create_bot(settings)` with no
injected service, so the bot opens the store, warms up the knowledge runtime (embedding
model, index, llama-server child) in the background, answers `/reload` at once and
finishes it in the background, answers a knowledge question, and the process exits
promptly after the bot is closed, with no model server left behind.

It runs in its own Python process, as a deployment does: only a process of its own
shows whether something (a thread, a child) keeps it from exiting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = r"""
import asyncio, json, sys, time
import discord, simcord
from bot.discord import create_bot
from bot.settings import Settings

async def main():
    settings = Settings(data_dir=sys.argv[1], _env_file=None, n_threads=1, max_tokens=32, sync_commands=True)
    bot = create_bot(settings)  # no service: the bot makes and owns one
    out = {}
    async with simcord.run(bot, settle_timeout=240) as env:
        guild = env.create_guild("Startup")
        channel = guild.create_text_channel("general")
        admins = guild.create_role("Admins", permissions=discord.Permissions(administrator=True))
        admin = guild.add_member(env.create_user("admin"), roles=[admins])
        started = time.perf_counter()
        result = await admin.slash(channel, "reload")
        out["reload_ack"] = result.response.content
        out["reload_followups"] = [m.content for m in result.followups]
        out["reload_s"] = round(time.perf_counter() - started, 2)
        out["server_pid"] = bot.service._knowledge.server.pid
        sent = await admin.send(channel, f"<@{env.bot.user.id}> why does memory bandwidth matter for LLM speed?")
        stored = sorted((m for m in env.backend.messages.get(channel.id, {}).values()
                         if m.author_id == env.bot.user.id and m.id > sent.id), key=lambda m: m.id)
        out["answer"] = "\n".join(m.content for m in stored)
    await bot.close()  # what discord.py's run() does on Ctrl-C / SIGTERM
    out["closed_at"] = time.time()
    print("RESULT " + json.dumps(out), flush=True)

asyncio.run(main())
"""


def test_create_bot_without_a_service_reloads_answers_and_exits_promptly(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    for key in [k for k in env if k.startswith("RIGBOT_") or k == "DISCORD_TOKEN"]:
        env.pop(key)
    proc = subprocess.Popen([sys.executable, "-c", SCENARIO, str(tmp_path / "data")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    servers: set[int] = set()
    deadline = time.monotonic() + 400
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            servers |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)
                        if p.name() == "llama-server"}
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    try:
        out, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the bot process did not finish:\n{err[-3000:]}")
    exited = time.time()
    assert proc.returncode == 0, err[-3000:]
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))

    assert result["reload_ack"].startswith("Reloading"), "acknowledged at once"
    assert result["reload_followups"] and result["reload_followups"][-1].startswith("Reloaded.")
    assert "**Sources:**" in result["answer"] and "Key facts" in result["answer"]
    assert result["server_pid"] in servers
    assert exited - result["closed_at"] < 10, f"the process took {exited - result['closed_at']:.1f} s to exit"
    for pid in servers:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
