"""The SQLite log: WAL, named migrations applied once and recorded, rows written."""

import sqlite3

from bot.store import MIGRATIONS, Store


async def test_migrations_apply_once_and_are_recorded(tmp_path):
    path = tmp_path / "db.sqlite3"
    store = await Store(path).open()
    assert await store.migrate() == []  # already applied by open()
    await store.close()
    store = await Store(path).open()
    await store.close()
    rows = sqlite3.connect(path).execute("SELECT name FROM _migrations ORDER BY name").fetchall()
    assert [r[0] for r in rows] == [name for name, _ in MIGRATIONS]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_answers_are_logged_with_verdict_and_latency(service):
    answer = await service.ask("can a 3090 run 13b 4-bit?", user_id="u1", channel_id="c1")
    row = await service.store.get_answer(answer.log_id)
    assert row["route"] == "rules"
    assert row["verdict"] == "fits_gpu"
    assert row["latency_ms"] > 0
    assert row["user_id"] == "u1"
    assert await service.store.set_feedback(answer.log_id, 1, "u2")
    assert (await service.store.get_answer(answer.log_id))["feedback"] == 1


async def test_errors_are_logged_too(service):
    answer = await service.ask("")
    row = await service.store.get_answer(answer.log_id)
    assert row["error"] == "empty_question"


async def test_enabled_channels_round_trip(service):
    await service.store.set_channel("123", "9", True, "admin")
    assert "123" in await service.store.enabled_channels()
    await service.store.set_channel("123", "9", False, "admin")
    assert "123" not in await service.store.enabled_channels()
