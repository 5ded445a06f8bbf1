"""The model runs in a llama-server child process on loopback: answers stream through
it, a `kill -9` of it mid-answer costs the user one sentence and not the bot, and
stopping RigBot leaves no server behind. Also external OpenAI-compatible servers: a
second llama-server with 2 slots that the test starts itself, and a pool with a dead
URL in it. Real llama-server, real SmolLM2 GGUF, real embedding model."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from knowledge import llm_client
from rules.phrases import say

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
LONG_EN = "Explain in detail why memory bandwidth limits tokens per second."
LONG_ZH = "详细解释为什么内存带宽限制每秒生成的 token 数量。"


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_knowledge_answer_streams_through_the_server_child(knowledge_service):
    runtime = await knowledge_service.knowledge()
    child = psutil.Process(runtime.server.pid)
    assert child.name() == "llama-server" and child.ppid() == os.getpid()
    assert runtime.server.endpoint.base_url.startswith("http://127.0.0.1:")

    # the model's tokens arrive from the server in pieces, over time (the raw stream, before
    # the faithfulness gate, which passes on whole sentences only)
    stamps: list[float] = []
    raw: list[str] = []

    def raw_token(piece: str) -> None:
        raw.append(piece)
        stamps.append(time.perf_counter())

    hits = await runtime.retrieve("what is the KV cache?")
    gen = await runtime.generate("what is the KV cache?", hits, None, on_token=raw_token)
    assert len(raw) > 1 and stamps[-1] > stamps[0], "the text arrived in pieces, over time"
    assert "".join(raw) == gen.text

    pieces: list[str] = []
    answer = await knowledge_service.ask("what is the KV cache?", on_token=pieces.append)

    assert answer.route == "knowledge" and answer.error is None
    assert pieces and answer.answer.startswith(pieces[0].strip()), "the sources' direct answer streams first"
    row = await knowledge_service.store._one("SELECT * FROM generations WHERE answer_id = ?", (answer.log_id,))
    assert row["endpoint"] == runtime.server.endpoint.host
    assert row["tokens_per_s"] > 0 and row["server_tokens_per_s"] > 0, "streamed and server figures both kept"
    assert row["completion_tokens"] == answer.llm.completion_tokens > 1 and row["prompt_tokens"] > 0
    host = await knowledge_service.store.latest_host()
    assert host["llm"]["kind"] == "embedded llama-server" and host["llm"]["repack_reason"]


@pytest.mark.parametrize(("lang", "question"), [("en", LONG_EN), ("zh", LONG_ZH)])
async def test_kill_9_mid_generation_tells_the_user_and_the_next_question_is_served(
        knowledge_service, monkeypatch, lang, question):
    runtime = await knowledge_service.knowledge()
    old_pid = runtime.server.pid
    restarts = runtime.server.restarts
    monkeypatch.setattr(knowledge_service.settings, "max_tokens", 400)
    # SmolLM2 may end its answer in 60 tokens (0.7 s with a cached prompt), before the kill:
    # ignoring end-of-text makes it generate all 400 (~5 s), so the kill lands mid-answer
    monkeypatch.setitem(llm_client.SAMPLING, "ignore_eos", True)
    asked = asyncio.create_task(knowledge_service.ask(question))
    endpoint = runtime.client.endpoints[0]
    deadline = time.perf_counter() + 60
    while endpoint.in_flight == 0 and time.perf_counter() < deadline:  # the request is at the server
        await asyncio.sleep(0.02)
    assert endpoint.in_flight == 1
    await asyncio.sleep(1.0)  # past the prompt, into generation (400 tokens take ~5 s)

    os.kill(old_pid, signal.SIGKILL)
    killed = time.perf_counter()
    answer = await asyncio.wait_for(asked, 30)
    told_after = time.perf_counter() - killed

    # the direct answer from the sources stays; the model's part is replaced by the notice
    assert answer.error == "llm_restarted" and answer.answer.endswith(say(lang, "bot_llm_restarted"))
    assert told_after < 5, f"the user waited {told_after:.1f} s to hear about the crash"
    sizing = await knowledge_service.ask("can an RTX 3060 12GB run 13B 4-bit?")
    assert sizing.route == "rules" and sizing.error is None, "rule answers do not depend on the model"

    monkeypatch.setattr(knowledge_service.settings, "max_tokens", 48)
    after = await knowledge_service.ask("what is the KV cache?")
    assert after.error is None and after.llm.completion_tokens > 0
    assert runtime.server.restarts == restarts + 1 and runtime.server.pid != old_pid
    assert psutil.Process(runtime.server.pid).name() == "llama-server"
    assert _gone(old_pid)


# stopping RigBot -----------------------------------------------------------------------
@pytest.fixture
def console_data_dir(knowledge_service, knowledge_data_dir, tmp_path):
    """A data dir with the shared, already built index (no rebuild in the child)."""
    data = tmp_path / "data"
    shutil.copytree(knowledge_data_dir / "index", data / "index")
    return data


def _llama_servers(pid: int) -> list[psutil.Process]:
    """The llama-server children now; one may exit while listed (a thread-count probe's)."""
    found = []
    for p in psutil.Process(pid).children(recursive=True):
        try:
            if p.name() == "llama-server":
                found.append(p)
        except psutil.NoSuchProcess:
            pass
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_bot_leaves_no_model_server(console_data_dir, sig):
    env = dict(os.environ, PYTHONPATH=str(ROOT), RIGBOT_DATA_DIR=str(console_data_dir), RIGBOT_N_THREADS="1",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("RIGBOT_LLM_URL", None)
    bot = subprocess.Popen([sys.executable, "-m", "bot", "chat"], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        bot.stdin.write(b"what is the KV cache?\n")
        bot.stdin.flush()
        deadline = time.monotonic() + 180
        servers: list[psutil.Process] = []
        while not servers:
            assert bot.poll() is None, bot.stdout.read().decode(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "no llama-server child appeared"
            servers = _llama_servers(bot.pid)
            time.sleep(0.2)
        time.sleep(1.0)  # let it get into serving the question

        stopped = time.monotonic()
        bot.send_signal(sig)
        bot.wait(10)
        assert time.monotonic() - stopped < 10
        deadline = time.monotonic() + 5
        while not all(_gone(p.pid) for p in servers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(p.pid) for p in servers), f"orphaned llama-server after {sig.name}"
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait(5)


# external servers ------------------------------------------------------------------------
@pytest.fixture(scope="module")
async def external_server(tmp_path_factory):
    """A second llama-server with 2 slots, started here as a user would run one."""
    from llm_servers import external_process

    from knowledge.llm import default_model_path
    from knowledge.llm_client import httpx
    from knowledge.llm_server import find_llama_server

    server = external_process(find_llama_server(), default_model_path(),
                              tmp_path_factory.mktemp("external") / "llama-server.log")
    server.spawn()
    try:
        async with httpx().AsyncClient(trust_env=False) as http:
            await server.wait_ready(http)
        yield server
    finally:
        await server.stop()


@pytest.fixture(scope="module")
async def pool_service(external_server, knowledge_service, knowledge_data_dir, tmp_path_factory):
    """RIGBOT_LLM_URL = a URL nothing listens on, then the live 2-slot server."""
    from bot.service import RigBotService
    from bot.settings import Settings
    from knowledge.llm_server import free_port

    data = tmp_path_factory.mktemp("pool") / "data"
    shutil.copytree(knowledge_data_dir / "index", data / "index")
    dead = f"http://127.0.0.1:{free_port()}"
    settings = Settings(data_dir=data, _env_file=None, llm_url=f"{dead}/v1,{external_server.url}",
                        max_tokens=64, knowledge_prose=True)
    svc = await RigBotService(settings).start()
    await svc.knowledge()
    yield svc
    await svc.close()


def test_the_external_server_runs_with_this_hosts_choices(external_server):
    from knowledge.llm_server import cpu_flags_text, has_amx

    assert external_server.proc.args == external_server.command
    assert ("--no-repack" in external_server.command) == has_amx(cpu_flags_text()), \
        "started through ServerSpec.command, which turns repacking off on AMX CPUs"


async def test_pool_skips_a_dead_endpoint(pool_service, external_server):
    runtime = await pool_service.knowledge()
    dead, live = runtime.client.endpoints
    assert runtime.llm_info["slots"] == 1 + 2, "slots read from each server's /props (1 where unknown)"

    answer = await pool_service.ask("what is the KV cache?")

    assert answer.error is None and answer.llm.completion_tokens > 0
    assert dead.failures >= 1 and dead.served == 0 and dead.down_until > 0, "the dead URL was skipped"
    assert live.served >= 1
    row = await pool_service.store._one("SELECT * FROM generations WHERE answer_id = ?", (answer.log_id,))
    assert row["endpoint"] == live.host and row["server_tokens_per_s"] > 0
    host = await pool_service.store.latest_host()
    servers = {s["url_host"]: s for s in host["llm"]["servers"]}
    assert servers[live.host]["models"] and servers[live.host]["slots"] == 2


async def test_two_slots_answer_two_questions_at_once(pool_service):
    stamps: dict[int, list[float]] = {0: [], 1: []}
    questions = ["why does memory bandwidth matter for LLM speed?", "does the SSD matter when running models?"]
    runtime = await pool_service.knowledge()
    hits = [await runtime.retrieve(q) for q in questions]
    # the raw token streams (the gate after them passes whole sentences only)
    gens = await asyncio.gather(*(
        runtime.generate(q, h, None, on_token=lambda _t, i=i: stamps[i].append(time.perf_counter()))
        for i, (q, h) in enumerate(zip(questions, hits, strict=True))))

    assert all(g.stats["completion_tokens"] > 8 for g in gens)
    first_ends = min(s[-1] for s in stamps.values())
    second_starts = max(s[0] for s in stamps.values())
    assert second_starts < first_ends, "the second question streamed while the first was still streaming"


# the line, cancel and time limit over HTTP -------------------------------------------------
LONG_MESSAGES = [{"role": "user", "content": LONG_EN}]


async def test_waiting_question_is_told_its_position_and_can_cancel(knowledge_service):
    client = (await knowledge_service.knowledge()).client
    assert client.slots == 1
    started = asyncio.Event()
    first = asyncio.create_task(client.generate(LONG_MESSAGES, max_tokens=200,
                                                on_token=lambda _t: started.set()))
    await asyncio.wait_for(started.wait(), 60)
    positions: list[int] = []
    cancel = asyncio.Event()

    def queued(position: int) -> None:
        positions.append(position)
        cancel.set()  # the user gives up while waiting

    waited = time.perf_counter()
    second = await asyncio.wait_for(client.generate(LONG_MESSAGES, max_tokens=200, on_queue=queued,
                                                    cancel=cancel), 10)
    assert positions == [1] and second.stopped == "cancelled" and second.text == ""
    assert time.perf_counter() - waited < 2, "a cancelled wait returns at once"
    assert not first.done(), "the first question kept its slot"
    assert (await first).stopped is None


async def test_cancel_mid_stream_and_time_limit_stop_the_generation(knowledge_service):
    client = (await knowledge_service.knowledge()).client
    cancel = asyncio.Event()
    pieces: list[str] = []

    def token(piece: str) -> None:
        pieces.append(piece)
        if len(pieces) == 3:
            cancel.set()

    cancelled = await client.generate(LONG_MESSAGES, max_tokens=300, on_token=token, cancel=cancel)
    assert cancelled.stopped == "cancelled" and 3 <= len(pieces) < 20

    timed = await client.generate(LONG_MESSAGES, max_tokens=400, timeout_s=0.5)
    assert timed.stopped == "stopped after the 0.5 s time limit"
    after = await client.generate([{"role": "user", "content": "Say OK."}], max_tokens=4)
    assert after.stopped is None and after.stats["completion_tokens"] > 0, "the slot was freed"


async def test_thread_measurement_reports_prefill_and_decode(knowledge_service, tmp_path):
    from knowledge.llm_server import measure_threads

    runtime = await knowledge_service.knowledge()
    measured = await measure_threads(runtime.server.spec, [1], tmp_path / "llama-server.log", rounds=1)
    assert measured["threads"] == measured["threads_batch"] == 1
    assert measured["decode_tokens_per_s"][1] > 0 and measured["prefill_tokens_per_s"][1] > 0
