"""The store, on both engines (the SQLite file and a real PostgreSQL server): named
migrations applied once and recorded, answers and feedback logged, and the state
bot processes share (enabled channels, remembered values, saved rigs, reports,
conversation state, rate limits)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import pytest

from bot.service import RigBotService
from bot.store import (
    MAX_CONVERSATION_BYTES,
    MIGRATIONS,
    StateTooLarge,
    StoreUnavailable,
    connect,
    open_store,
)
from bot.store.store import CONVERSATION_TTL_S


@pytest.fixture
async def store(backend_settings):
    store = await open_store(backend_settings)
    yield store
    await store.close()


@pytest.fixture
async def service(backend_settings):
    svc = await RigBotService(backend_settings).start()
    yield svc
    await svc.close()


async def test_migrations_apply_once_and_are_recorded(backend_settings):
    store = await open_store(backend_settings)
    assert await store.migrate() == []  # already applied by open()
    await store.close()
    store = await open_store(backend_settings)
    names = await store.applied_migrations()
    rows = await store.db.fetch_all("SELECT name, COUNT(*) AS n FROM _migrations GROUP BY name")
    await store.close()
    assert sorted(names) == sorted(name for name, _ in MIGRATIONS)
    assert all(r["n"] == 1 for r in rows)
    assert [name for name, _ in MIGRATIONS][:3] == ["m001_initial", "m002_channels_and_memory", "m003_feedback"]


async def test_sqlite_file_is_wal_and_keeps_its_historic_schema(tmp_path):
    path = tmp_path / "db.sqlite3"
    await (await connect(path)).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    hosts = db.execute("SELECT sql FROM sqlite_master WHERE name = 'hosts'").fetchone()[0]
    assert "id INTEGER PRIMARY KEY" in hosts and "probed_at REAL" in hosts


async def test_migrations_started_together_apply_once(backend_settings):
    """Eight connections migrating one fresh database at the same moment."""
    stores = await asyncio.gather(*(open_store(backend_settings) for _ in range(8)))
    try:
        rows = await stores[0].db.fetch_all("SELECT name FROM _migrations")
        assert sorted(r["name"] for r in rows) == sorted(name for name, _ in MIGRATIONS)
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_a_failing_migration_leaves_nothing_half_done(backend_settings, monkeypatch):
    from bot.store import migrations

    async def m999_broken(db):
        await db.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("broken migration")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, ("m999_broken", m999_broken)])
    monkeypatch.setattr("bot.store.store.MIGRATIONS", migrations.MIGRATIONS)
    with pytest.raises(RuntimeError, match="broken migration"):
        await open_store(backend_settings)
    monkeypatch.undo()
    store = await open_store(backend_settings)
    try:
        assert "m999_broken" not in await store.applied_migrations()
        with pytest.raises(Exception):  # noqa: B017  (engine-specific "no such table")
            await store.db.fetch_all("SELECT * FROM half_done")
    finally:
        await store.close()


async def test_answers_are_logged_with_verdict_and_latency(service):
    answer = await service.ask("can a 3090 run 13b 4-bit?", user_id="u1", channel_id="c1")
    row = await service.store.get_answer(answer.log_id)
    assert row["route"] == "rules"
    assert row["verdict"] == "fits_gpu"
    assert row["latency_ms"] > 0
    assert row["user_id"] == "u1"
    assert await service.store.set_feedback(answer.log_id, 1, "u2")
    assert (await service.store.get_answer(answer.log_id))["feedback"] == 1
    assert not await service.store.set_feedback(answer.log_id + 1000, 1, "u2")
    assert await service.store.answer_counts() == {"rules": 1}


async def test_a_request_asked_twice_keeps_one_row(service, backend_settings):
    """A question re-delivered or retried after a process died, with its id: one row."""
    first = await service.ask("can a 3090 run 13b?", user_id="u1", request_id="msg-1")
    other = await RigBotService(backend_settings).start()  # another process
    try:
        again = await other.ask("can a 3090 run 13b?", user_id="u1", request_id="msg-1")
        assert again.log_id == first.log_id
        assert await service.store.log_answer(again, "u1", None, "msg-1") == first.log_id
        untagged = [await other.ask("can a 3090 run 13b?") for _ in range(2)]
        assert untagged[0].log_id != untagged[1].log_id, "without an id every ask is its own row"
    finally:
        await other.close()
    rows = await service.store.db.fetch_all("SELECT request_id FROM answers")
    assert sorted((r["request_id"] or "") for r in rows) == ["", "", "msg-1"]


async def test_errors_are_logged_too(service):
    answer = await service.ask("")
    row = await service.store.get_answer(answer.log_id)
    assert row["error"] == "empty_question"


async def test_timestamps_keep_their_precision(store):
    """PostgreSQL's REAL is 4 bytes (a timestamp would lose minutes): DOUBLE PRECISION."""
    host_id = await store.record_host({"cpu": "x"})
    row = await store.db.fetch_one("SELECT probed_at FROM hosts WHERE id = ?", (host_id,))
    assert abs(row["probed_at"] - time.time()) < 60
    assert row["probed_at"] != round(row["probed_at"], -3)


async def test_host_and_generations(store):
    await store.record_host({"cpu": "EPYC", "threads": 2})
    assert await store.latest_host() == {"cpu": "EPYC", "threads": 2}
    gen = {"model": "smollm2", "prompt_tokens": 10, "completion_tokens": 5, "prompt_ms": 1.5,
           "generation_ms": 50.25, "tokens_per_s": 99.5, "ttft_ms": 3.0, "n_threads": 1, "n_gpu_layers": 0}
    await store.log_generation(None, gen)
    await store.log_generation(None, dict(gen, tokens_per_s=0))
    assert await store.recent_tokens_per_s() == [99.5]


async def test_enabled_channels_round_trip(store):
    await store.set_channel("123", "9", True, "admin")
    await store.set_channel("123", "9", True, "admin2")  # enabling twice is not an error
    assert await store.enabled_channels() == {"123"}
    await store.set_channel("123", "9", False, "admin")
    assert "123" not in await store.enabled_channels()


async def test_remembered_values(store):
    assert await store.recall("threads") is None
    await store.remember("threads", 1)
    await store.remember("threads", {"decode": 2, "batch": [1, 2]})
    assert await store.recall("threads") == {"decode": 2, "batch": [1, 2]}


async def test_saved_rigs_get_set_delete(store):
    rig = {"gpus": [{"name": "RTX 3090", "count": 2}], "ram_gib": 64}
    assert await store.get_rig("u1") is None
    await store.set_rig("u1", rig)
    await store.set_rig("u1", dict(rig, ram_gib=128))
    assert await store.get_rig("u1") == dict(rig, ram_gib=128)
    assert await store.get_rig("u2") is None
    assert await store.delete_rig("u1")
    assert not await store.delete_rig("u1")
    assert await store.get_rig("u1") is None


async def test_user_reports(store):
    first = await store.add_report("u1", "the 3060 has 12 GB, not 8", channel_id="c1")
    second = await store.add_report("u2", "x" * 5000)
    open_reports = await store.reports()
    assert [r["id"] for r in open_reports] == [second, first]
    assert len(open_reports[0]["text"]) == 2000
    assert await store.set_report_status(first, "done")
    assert [r["id"] for r in await store.reports()] == [second]
    assert len(await store.reports(status=None)) == 2


async def test_conversation_state_is_bounded_in_size_and_age(store):
    now = 1_000_000.0
    await store.save_conversation("c1", "u1", {"previous": {"gpu": "3090", "model": "13b"}}, now=now)
    await store.save_conversation("c2", "u1", {"previous": {"gpu": "4090"}}, now=now)
    assert await store.load_conversation("c1", "u1", now=now + 10) == {"previous": {"gpu": "3090", "model": "13b"}}
    assert await store.load_conversation("c1", "u2", now=now) is None, "per channel and user"
    assert await store.load_conversation("c1", "u1", now=now + CONVERSATION_TTL_S + 1) is None, "too old"
    with pytest.raises(StateTooLarge):
        await store.save_conversation("c1", "u1", {"text": "x" * MAX_CONVERSATION_BYTES}, now=now)
    assert await store.load_conversation("c1", "u1", now=now) is not None, "a refused save keeps the old state"
    # a later save prunes every expired conversation
    await store.save_conversation("c3", "u3", {"n": 1}, now=now + CONVERSATION_TTL_S + 5)
    rows = await store.db.fetch_all("SELECT channel_id FROM conversations")
    assert [r["channel_id"] for r in rows] == ["c3"]
    await store.clear_conversation("c3", "u3")
    assert await store.load_conversation("c3", "u3", now=now + CONVERSATION_TTL_S + 5) is None


async def test_rate_limit_is_a_sliding_window(store):
    t = 5_000.0
    assert await store.hit_rate_limit("llm:1", 2, 60, t) is None
    assert await store.hit_rate_limit("llm:1", 2, 60, t + 10) is None
    assert await store.hit_rate_limit("llm:1", 2, 60, t + 20) == pytest.approx(40)  # the first expires at t+60
    assert await store.hit_rate_limit("llm:2", 2, 60, t + 20) is None, "per key"
    assert await store.hit_rate_limit("llm:1", 2, 60, t + 60) is None
    assert await store.hit_rate_limit("llm:1", 2, 60, t + 61) == pytest.approx(9)
    assert await store.hit_rate_limit("llm:1", 0, 60, t + 61) is None, "0: no limit"
    # quiet windows leave no rows behind
    await store.hit_rate_limit("llm:3", 2, 60, t + 1000)
    rows = await store.db.fetch_all("SELECT key FROM rate_limits")
    assert [r["key"] for r in rows] == ["llm:3"]


async def test_rate_limit_holds_across_connections(backend_settings):
    """Two stores (as two bot processes would have), 20 questions at once from one
    user, limit 5: exactly 5 are let through."""
    stores = [await open_store(backend_settings) for _ in range(2)]
    try:
        results = await asyncio.gather(*(stores[i % 2].hit_rate_limit("llm:42", 5, 60, 10_000.0 + i / 100)
                                         for i in range(20)))
        assert sum(r is None for r in results) == 5
        row = await stores[0].db.fetch_one("SELECT hits FROM rate_limits WHERE key = ?", ("llm:42",))
        assert len(json.loads(row["hits"])) == 5
    finally:
        for s in stores:
            await s.close()


async def test_unknown_database_url_is_refused(tmp_path):
    with pytest.raises(StoreUnavailable, match="postgresql://"):
        await connect("mysql://localhost/rigbot")


async def test_an_unreachable_store_is_one_sentence(tmp_path, postgres_server):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable, match="RIGBOT_DATA_DIR"):
        await connect(blocker / "data" / "rigbot.sqlite3")
    closed_port = postgres_server.url("nope").replace(str(postgres_server.port), "1")
    with pytest.raises(StoreUnavailable, match="cannot connect to PostgreSQL at") as err:
        await connect(closed_port.replace("postgres@", "postgres:secret@"))
    assert "secret" not in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("ci", ["true", ""])
def test_missing_postgres_binaries_fail_in_ci_and_skip_elsewhere(monkeypatch, ci):
    import postgres_server

    monkeypatch.setattr(postgres_server, "find_bindir", lambda: None)
    monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(expected, match="initdb, pg_ctl"):
        postgres_server.require_bindir()


async def test_a_fresh_sqlite_file_opened_by_eight_at_once_never_reports_locked(tmp_path):
    """SQLite refuses a journal-mode change at once ("database is locked", no busy wait) while
    another connection sets up the new file: without a retry, about one round in thirty failed."""
    from bot.settings import Settings

    for round_ in range(20):
        settings = Settings(data_dir=tmp_path / f"r{round_}")
        stores = await asyncio.gather(*(open_store(settings) for _ in range(8)))
        await asyncio.gather(*(s.close() for s in stores))


async def test_a_server_purge_takes_only_what_that_server_holds(service):
    """Issue 24: a server's administrators purge a user's conversations and logged
    questions in their server (rows of older versions matched by its channels), never
    another server's, nor the saved rig and speed reports the user keeps across servers."""
    store = service.store
    ask = "can a 3090 run 13b 4-bit?"
    await service.ask(ask, user_id="u1", channel_id="a1", guild_id="A", conversation=("discord:a1", "u1"))
    await service.ask(ask, user_id="u1", channel_id="b1", guild_id="B", conversation=("discord:b1", "u1"))
    await service.ask(ask, user_id="u2", channel_id="a1", guild_id="A", conversation=("discord:a1", "u2"))
    # a row and a conversation from before the server was recorded, in one of A's channels
    await store.db.execute("INSERT INTO answers (ts, question, route, user_id, channel_id) VALUES (1, ?, 'rules', 'u1', 'a2')",
                           (ask,))
    await store.save_conversation("discord:a2", "u1", {"q": 1})
    await store.db.execute("UPDATE conversations SET guild_id = NULL WHERE channel_id = 'discord:a2'")
    await store.set_rig("u1", {"gpus": ["RTX 3090"]})
    await store.put_speed_report("u1", device="RTX 3090", gpu_count=1, model="Llama 3.1 8B", quant="Q4_K_M",
                                 tokens_per_s=112.0)

    done = await store.purge_user_in_guild("u1", "A", ["a1", "a2"])

    assert done == {"conversations": 2, "questions": 2, "feedback_reports": 0}
    rows = await store.db.fetch_all("SELECT guild_id, channel_id, user_id, question FROM answers ORDER BY id")
    kept = [(r["guild_id"], r["user_id"], r["question"]) for r in rows]
    assert kept == [("A", None, ""), ("B", "u1", ask), ("A", "u2", ask), (None, None, "")]
    assert await store.load_conversation("discord:b1", "u1") is not None
    assert await store.load_conversation("discord:a1", "u2") is not None
    assert await store.load_conversation("discord:a1", "u1") is None
    assert await store.get_rig("u1") is not None and len(await store.speed_reports("u1")) == 1
    assert await store.conversation_updated_at("discord:b1", "u1") is not None
