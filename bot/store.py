"""SQLite log (aiosqlite, WAL): the host, every answer, every generation, enabled
channels, remembered measurements. Schema changes are named migrations applied once
and recorded in the `_migrations` table."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
async def m001_initial(db: aiosqlite.Connection) -> None:
    await db.executescript(
        """
        CREATE TABLE hosts (
            id INTEGER PRIMARY KEY,
            probed_at REAL NOT NULL,
            info TEXT NOT NULL            -- JSON from bot.host.probe_host()
        );
        CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            question TEXT NOT NULL,
            route TEXT NOT NULL,
            intent TEXT,
            verdict TEXT,
            latency_ms REAL,
            sources TEXT,                 -- JSON list of {title, section, score}
            error TEXT,
            user_id TEXT,
            channel_id TEXT,
            host_id INTEGER REFERENCES hosts(id)
        );
        CREATE TABLE generations (
            id INTEGER PRIMARY KEY,
            answer_id INTEGER REFERENCES answers(id),
            ts REAL NOT NULL,
            model TEXT NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            prompt_ms REAL,
            generation_ms REAL,
            tokens_per_s REAL,
            ttft_ms REAL,
            n_threads INTEGER,
            n_gpu_layers INTEGER,
            host_id INTEGER REFERENCES hosts(id)
        );
        """
    )


@migration
async def m002_channels_and_memory(db: aiosqlite.Connection) -> None:
    await db.executescript(
        """
        CREATE TABLE enabled_channels (
            channel_id TEXT PRIMARY KEY,
            guild_id TEXT,
            enabled_by TEXT,
            enabled_at REAL NOT NULL
        );
        CREATE TABLE remembered (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at REAL NOT NULL
        );
        """
    )


@migration
async def m003_feedback(db: aiosqlite.Connection) -> None:
    await db.execute("ALTER TABLE answers ADD COLUMN feedback INTEGER")  # +1 / -1
    await db.execute("ALTER TABLE answers ADD COLUMN feedback_by TEXT")


# --- LLM server timings (issue 7): the server's own figures beside the streamed ones ---
@migration
async def m004_llm_server_timings(db: aiosqlite.Connection) -> None:
    # tokens_per_s stays the streamed figure (first to last token, as a user sees it);
    # these are the server's own `timings` and which endpoint (URL host) generated
    await db.execute("ALTER TABLE generations ADD COLUMN server_tokens_per_s REAL")
    await db.execute("ALTER TABLE generations ADD COLUMN server_prompt_tokens_per_s REAL")
    await db.execute("ALTER TABLE generations ADD COLUMN cached_prompt_tokens INTEGER")
    await db.execute("ALTER TABLE generations ADD COLUMN endpoint TEXT")


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db: aiosqlite.Connection | None = None
        self.host_id: int | None = None

    async def open(self) -> Store:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = await aiosqlite.connect(self.path)
        self.db.row_factory = aiosqlite.Row
        # execute() returns a cursor; an unclosed one keeps a statement in progress and a
        # later COMMIT fails ("cannot commit transaction - SQL statements in progress")
        await self.db.execute_fetchall("PRAGMA busy_timeout=5000")
        await self.db.execute_fetchall("PRAGMA journal_mode=WAL")
        await self.migrate()
        row = await self._one("SELECT id FROM hosts ORDER BY id DESC LIMIT 1")
        self.host_id = row["id"] if row else None
        return self

    async def close(self) -> None:
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def migrate(self) -> list[str]:
        assert self.db is not None
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        done = {r[0] for r in await self.db.execute_fetchall("SELECT name FROM _migrations")}
        applied = []
        for name, fn in MIGRATIONS:
            if name in done:
                continue
            await fn(self.db)
            await self.db.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
            await self.db.commit()
            applied.append(name)
        return applied

    async def _one(self, sql: str, args: tuple = ()) -> aiosqlite.Row | None:
        assert self.db is not None
        async with self.db.execute(sql, args) as cur:
            return await cur.fetchone()

    async def _all(self, sql: str, args: tuple = ()) -> list[aiosqlite.Row]:
        assert self.db is not None
        return list(await self.db.execute_fetchall(sql, args))

    async def _insert(self, sql: str, args: tuple) -> int:
        assert self.db is not None
        cur = await self.db.execute(sql, args)
        await self.db.commit()
        return cur.lastrowid

    async def record_host(self, info: dict) -> int:
        self.host_id = await self._insert(
            "INSERT INTO hosts (probed_at, info) VALUES (?, ?)", (time.time(), json.dumps(info))
        )
        return self.host_id

    async def latest_host(self) -> dict | None:
        row = await self._one("SELECT info FROM hosts ORDER BY id DESC LIMIT 1")
        return json.loads(row["info"]) if row else None

    async def log_answer(self, answer, user_id: str | None = None, channel_id: str | None = None) -> int:
        sources = json.dumps([
            {"title": s.title, "section": s.section, "score": round(s.score, 4)} for s in answer.sources or []
        ])
        answer_id = await self._insert(
            "INSERT INTO answers (ts, question, route, intent, verdict, latency_ms, sources, error,"
            " user_id, channel_id, host_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (time.time(), answer.question, answer.route, answer.intent,
             answer.verdict.value if answer.verdict else None, answer.elapsed_ms, sources,
             answer.error, user_id, channel_id, self.host_id),
        )
        return answer_id

    async def log_generation(self, answer_id: int | None, gen: dict) -> int:
        return await self._insert(
            "INSERT INTO generations (answer_id, ts, model, prompt_tokens, completion_tokens, prompt_ms,"
            " generation_ms, tokens_per_s, ttft_ms, n_threads, n_gpu_layers, host_id,"
            " server_tokens_per_s, server_prompt_tokens_per_s, cached_prompt_tokens, endpoint)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (answer_id, time.time(), gen["model"], gen["prompt_tokens"], gen["completion_tokens"],
             gen["prompt_ms"], gen["generation_ms"], gen["tokens_per_s"], gen["ttft_ms"],
             gen["n_threads"], gen["n_gpu_layers"], self.host_id,
             gen.get("server_tokens_per_s"), gen.get("server_prompt_tokens_per_s"),
             gen.get("cached_prompt_tokens"), gen.get("endpoint")),
        )

    async def set_feedback(self, answer_id: int, value: int, user_id: str) -> bool:
        assert self.db is not None
        cur = await self.db.execute(
            "UPDATE answers SET feedback = ?, feedback_by = ? WHERE id = ?", (value, user_id, answer_id)
        )
        await self.db.commit()
        return cur.rowcount == 1

    async def recent_tokens_per_s(self, limit: int = 200) -> list[float]:
        rows = await self._all(
            "SELECT tokens_per_s FROM generations WHERE tokens_per_s > 0 ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [r["tokens_per_s"] for r in rows]

    async def answer_counts(self) -> dict[str, int]:
        rows = await self._all("SELECT route, COUNT(*) AS n FROM answers GROUP BY route")
        return {r["route"]: r["n"] for r in rows}

    async def get_answer(self, answer_id: int) -> aiosqlite.Row | None:
        return await self._one("SELECT * FROM answers WHERE id = ?", (answer_id,))

    async def remember(self, key: str, value) -> None:
        await self._insert(
            "INSERT INTO remembered (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, json.dumps(value), time.time()),
        )

    async def recall(self, key: str):
        row = await self._one("SELECT value FROM remembered WHERE key = ?", (key,))
        return json.loads(row["value"]) if row else None

    async def set_channel(self, channel_id: str, guild_id: str | None, enabled: bool, by: str) -> None:
        if enabled:
            await self._insert(
                "INSERT OR REPLACE INTO enabled_channels VALUES (?, ?, ?, ?)",
                (channel_id, guild_id, by, time.time()),
            )
        else:
            await self._insert("DELETE FROM enabled_channels WHERE channel_id = ?", (channel_id,))

    async def enabled_channels(self) -> set[str]:
        return {r["channel_id"] for r in await self._all("SELECT channel_id FROM enabled_channels")}
