"""Several RigBot processes on one store at once (issue 13): four `ask --json`
batches started together on a fresh database each answer every question, the
migrations are applied exactly once, and every process exits promptly. And a start
that fails says one sentence, logs the traceback, and ends the process."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import ROOT

from bot.store import MIGRATIONS

QUESTIONS = [
    "can a 3060 12GB run 13B 4-bit?",
    "can 2x3090 run llama 2 70b q4_k_m?",
    "how fast is a 4090 with 8b q8_0?",
    "can an rtx 9999 run 7b?",
    "can a 4090 run 70b?",
] * 3
BATCH_TIMEOUT_S = 90
EXIT_WITHIN_S = 5.0  # from the last answer line to the process having exited


def _env(data_dir, **extra) -> dict:
    env = dict(os.environ, RIGBOT_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=str(ROOT))
    env.pop("RIGBOT_DATABASE_URL", None)
    env.update(extra)
    return env


async def _batch(env: dict) -> dict:
    """One `ask --json` batch: its answers, exit code, stderr, and how long it took
    to exit after its last answer."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "ask", "--json", cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    proc.stdin.write(("\n".join(QUESTIONS) + "\n").encode())
    proc.stdin.close()
    answers, last_line_at = [], time.perf_counter()
    stderr = asyncio.ensure_future(proc.stderr.read())
    try:
        async with asyncio.timeout(BATCH_TIMEOUT_S):
            while line := await proc.stdout.readline():
                answers.append(json.loads(line))
                last_line_at = time.perf_counter()
            code = await proc.wait()
    except TimeoutError:  # hung (the bug this guards against): report it, do not leave it running
        proc.kill()
        await proc.wait()
        code = f"still running after {BATCH_TIMEOUT_S} s, killed"
    return {"answers": answers, "code": code, "stderr": (await stderr).decode(),
            "exit_after_s": time.perf_counter() - last_line_at}


async def _four_at_once(env: dict) -> list[dict]:
    return await asyncio.gather(*(_batch(env) for _ in range(4)))


def _check_batches(results: list[dict]) -> None:
    for result in results:
        assert result["code"] == 0, f"exit code {result['code']}; stderr:\n{result['stderr'][-3000:]}"
        assert "Traceback" not in result["stderr"], result["stderr"]
        assert [a["question"] for a in result["answers"]] == QUESTIONS
        assert sum(a["verdict"] is not None for a in result["answers"]) == 12
        assert [a["error"] for a in result["answers"]].count("unknown_gpu") == 3
        assert result["exit_after_s"] < EXIT_WITHIN_S, f"exited {result['exit_after_s']:.1f} s after answering"


async def test_four_processes_on_one_fresh_sqlite_file(tmp_path):
    data = tmp_path / "data"
    results = await _four_at_once(_env(data))
    _check_batches(results)
    db = sqlite3.connect(data / "rigbot.sqlite3")
    names = [r[0] for r in db.execute("SELECT name FROM _migrations")]
    assert sorted(names) == sorted(name for name, _ in MIGRATIONS), "each migration exactly once"
    assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 4 * len(QUESTIONS)


async def test_four_processes_on_one_fresh_postgres_database(tmp_path, postgres_url):
    import asyncpg

    results = await _four_at_once(_env(tmp_path / "data", RIGBOT_DATABASE_URL=postgres_url))
    _check_batches(results)
    conn = await asyncpg.connect(postgres_url)
    try:
        names = [r["name"] for r in await conn.fetch("SELECT name FROM _migrations")]
        answers = await conn.fetchval("SELECT COUNT(*) FROM answers")
    finally:
        await conn.close()
    assert sorted(names) == sorted(name for name, _ in MIGRATIONS), "each migration exactly once"
    assert answers == 4 * len(QUESTIONS)
    assert not (tmp_path / "data" / "rigbot.sqlite3").exists(), "PostgreSQL only, no SQLite file on the side"


# a start that fails -----------------------------------------------------------------
def _run(args, env, timeout=60) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    return out, time.perf_counter() - started


def _one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert "Traceback" not in stderr and 'File "' not in stderr
    return lines[0]


@pytest.mark.parametrize("command", [["ask", "--json", "can a 3060 run 7b?"], ["stats"], ["health"], ["chat"],
                                     ["reload"]])
def test_unwritable_data_directory_is_one_sentence_and_a_prompt_exit(tmp_path, command):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    out, took = _run(command, _env(blocker / "data", TMPDIR=str(tmp_path)))
    assert out.returncode == 1
    line = _one_sentence(out.stderr)
    assert "cannot open its database" in line and "RIGBOT_DATA_DIR" in line and str(blocker) in line
    assert took < 30, "the process ended (nothing kept it alive)"
    assert out.stdout == ""
    # the traceback is in the log the sentence names (the data directory is unusable,
    # so the log went to the temporary directory)
    log_path = line.rsplit("details are in ", 1)[1].rstrip(").")
    assert log_path.startswith(str(tmp_path)) and "Traceback" in open(log_path).read()
    if command == ["health"]:
        assert line.startswith("unhealthy: ")


def test_a_file_that_is_not_a_database_closes_the_connection_and_exits(tmp_path):
    """The connection opens, then the first statement fails: aiosqlite's thread
    (not a daemon) must be closed or the interpreter would never exit."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "rigbot.sqlite3").write_bytes(b"this is not an SQLite database" * 100)
    out, took = _run(["ask", "--json", "can a 3060 run 7b?"], _env(data), timeout=60)
    assert out.returncode == 1
    line = _one_sentence(out.stderr)
    assert "cannot open its database" in line and "not a database" in line
    assert took < 30
    assert "Traceback" in (data / "rigbot.log").read_text()


def test_unreachable_postgres_is_one_sentence_without_the_password(tmp_path):
    url = "postgresql://rigbot:hunter2@127.0.0.1:1/rigbot"
    out, took = _run(["ask", "--json", "can a 3060 run 7b?"], _env(tmp_path / "data", RIGBOT_DATABASE_URL=url))
    assert out.returncode == 1
    line = _one_sentence(out.stderr)
    assert "cannot connect to PostgreSQL at postgresql://rigbot:***@127.0.0.1:1/rigbot" in line
    assert "hunter2" not in out.stderr
    assert took < 30


def test_a_wrong_setting_names_the_variable(tmp_path):
    out, _ = _run(["ask", "hi"], _env(tmp_path / "data", RIGBOT_SHARD_COUNT="lots"))
    assert out.returncode == 2
    assert "RIGBOT_SHARD_COUNT is invalid" in _one_sentence(out.stderr)
