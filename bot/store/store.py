"""The store: every read and write RigBot makes, written once over `Database`, so
the SQLite file and PostgreSQL behave the same. What it keeps: the host, every
answer and generation, feedback, enabled channels, remembered measurements, and the
state several bot processes share (saved rigs, user reports, conversation state,
rate-limit windows)."""

from __future__ import annotations

import json
import logging
import time

from bot.store import shared_state_migrations  # noqa: F401  (registers m010..)
from bot.store.database import Database, Row
from bot.store.migrations import MIGRATIONS

log = logging.getLogger(__name__)

MAX_CONVERSATION_BYTES = 16 * 1024  # one user's state in one channel, as JSON
CONVERSATION_TTL_S = 6 * 3600.0  # a follow-up after six hours starts afresh
MAX_REPORT_CHARS = 2000


class StateTooLarge(ValueError):
    pass


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.host_id: int | None = None

    @classmethod
    async def open(cls, db: Database) -> Store:
        """Migrate and read the latest host; on any failure the connection is closed
        (its thread or pool must not outlive a failed start)."""
        store = cls(db)
        try:
            await store.migrate()
            row = await db.fetch_one("SELECT id FROM hosts ORDER BY id DESC LIMIT 1")
            store.host_id = row["id"] if row else None
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        await self.db.close()

    @property
    def dialect(self) -> str:
        return self.db.dialect

    # migrations -----------------------------------------------------------------
    async def applied_migrations(self) -> list[str]:
        rows = await self.db.fetch_all("SELECT name FROM _migrations ORDER BY applied_at, name")
        return [r["name"] for r in rows]

    async def migrate(self) -> list[str]:
        """Apply the migrations this database lacks, each once even when several
        processes start together: under the migration lock (SQLite's write lock,
        PostgreSQL's advisory lock) read `_migrations` again, apply, record, commit.
        A process that finds them applied goes on. Returns the names it applied."""
        wanted = [name for name, _ in MIGRATIONS]
        try:  # the usual case, without taking any lock
            if set(wanted) <= set(await self.applied_migrations()):
                return []
        except Exception:  # no _migrations table yet (its error type depends on the engine)
            pass
        applied = []
        async with self.db.transaction(migration=True) as tx:
            await tx.execute(
                f"CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at {tx.float} NOT NULL)"
            )
            done = {r["name"] for r in await tx.fetch_all("SELECT name FROM _migrations")}
            for name, fn in MIGRATIONS:
                if name in done:
                    continue
                await fn(tx)
                await tx.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
                applied.append(name)
        if applied:
            log.info("applied migrations %s to %s", ", ".join(applied), self.db.where)
        return applied

    # raw reads, as the store had them before it had two engines (tests and diagnostics
    # use them): `?` placeholders on both engines, rows as dicts
    async def _one(self, sql: str, args: tuple = ()) -> Row | None:
        return await self.db.fetch_one(sql, args)

    async def _all(self, sql: str, args: tuple = ()) -> list[Row]:
        return await self.db.fetch_all(sql, args)

    async def _insert(self, sql: str, args: tuple) -> int:
        row = await self.db.fetch_one(sql + " RETURNING id", args)
        assert row is not None
        return row["id"]

    # host, answers, generations -------------------------------------------------
    async def record_host(self, info: dict) -> int:
        self.host_id = await self._insert(
            "INSERT INTO hosts (probed_at, info) VALUES (?, ?)", (time.time(), json.dumps(info))
        )
        return self.host_id

    async def latest_host(self) -> dict | None:
        row = await self.db.fetch_one("SELECT info FROM hosts ORDER BY id DESC LIMIT 1")
        return json.loads(row["info"]) if row else None

    async def log_answer(self, answer, user_id: str | None = None, channel_id: str | None = None,
                         request_id: str | None = None, guild_id: str | None = None) -> int:
        """The answer's row id. With a `request_id` already logged (by any process),
        no second row: the first one's id."""
        sources = json.dumps([
            {"title": s.title, "section": s.section, "score": round(s.score, 4)} for s in answer.sources or []
        ])
        row = await self.db.fetch_one(
            "INSERT INTO answers (ts, question, route, intent, verdict, latency_ms, sources, error,"
            " user_id, channel_id, host_id, request_id, guild_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (request_id) DO NOTHING RETURNING id",
            (time.time(), answer.question, answer.route, answer.intent,
             answer.verdict.value if answer.verdict else None, answer.elapsed_ms, sources,
             answer.error, user_id, channel_id, self.host_id, request_id, guild_id),
        )
        if row is None:  # this request was logged before
            existing = await self.answer_id_for(request_id)
            assert existing is not None
            return existing
        return row["id"]

    async def answer_id_for(self, request_id: str | None) -> int | None:
        if request_id is None:
            return None
        row = await self.db.fetch_one("SELECT id FROM answers WHERE request_id = ?", (request_id,))
        return row["id"] if row else None

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
        changed = await self.db.execute(
            "UPDATE answers SET feedback = ?, feedback_by = ? WHERE id = ?", (value, user_id, answer_id)
        )
        return changed == 1

    async def recent_tokens_per_s(self, limit: int = 200) -> list[float]:
        rows = await self.db.fetch_all(
            "SELECT tokens_per_s FROM generations WHERE tokens_per_s > 0 ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [r["tokens_per_s"] for r in rows]

    async def log_gate_cuts(self, answer_id: int | None, cuts: list[tuple[str, str]], fell_back: bool) -> None:
        """What the faithfulness gate cut from one generated answer: (reason, sentence)."""
        now = time.time()
        for reason, excerpt in cuts:
            await self.db.execute(
                "INSERT INTO gate_cuts (answer_id, ts, reason, excerpt, fell_back) VALUES (?, ?, ?, ?, ?)",
                (answer_id, now, reason, excerpt[:200], int(fell_back)))

    async def gate_cut_counts(self) -> dict[str, int]:
        rows = await self.db.fetch_all("SELECT reason, COUNT(*) AS n FROM gate_cuts GROUP BY reason")
        return {r["reason"]: r["n"] for r in rows}

    async def answer_counts(self) -> dict[str, int]:
        rows = await self.db.fetch_all("SELECT route, COUNT(*) AS n FROM answers GROUP BY route")
        return {r["route"]: r["n"] for r in rows}

    async def get_answer(self, answer_id: int) -> Row | None:
        return await self.db.fetch_one("SELECT * FROM answers WHERE id = ?", (answer_id,))

    # remembered values ----------------------------------------------------------
    async def remember(self, key: str, value) -> None:
        await self.db.execute(
            "INSERT INTO remembered (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, json.dumps(value), time.time()),
        )

    async def recall(self, key: str):
        row = await self.db.fetch_one("SELECT value FROM remembered WHERE key = ?", (key,))
        return json.loads(row["value"]) if row else None

    # models looked up online (bot/models_online.py) -------------------------------
    async def put_online_model(self, key: str, value: dict, ok: bool, ttl_s: float,
                               source_url: str | None = None, now: float | None = None) -> None:
        now = time.time() if now is None else now
        await self.db.execute(
            "INSERT INTO online_models (key, ok, value, source_url, fetched_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET ok = excluded.ok, value = excluded.value,"
            " source_url = excluded.source_url, fetched_at = excluded.fetched_at, expires_at = excluded.expires_at",
            (key, 1 if ok else 0, json.dumps(value), source_url, now, now + ttl_s),
        )
        await self.db.execute("DELETE FROM online_models WHERE expires_at < ?", (now,))  # expired entries go

    async def get_online_model(self, key: str, now: float | None = None) -> tuple[bool, dict] | None:
        """(ok, value) while the entry is fresh, else None."""
        now = time.time() if now is None else now
        row = await self.db.fetch_one("SELECT ok, value FROM online_models WHERE key = ? AND expires_at > ?",
                                      (key, now))
        return (bool(row["ok"]), json.loads(row["value"])) if row else None

    # enabled channels -----------------------------------------------------------
    async def set_channel(self, channel_id: str, guild_id: str | None, enabled: bool, by: str) -> None:
        if enabled:
            await self.db.execute(
                "INSERT INTO enabled_channels (channel_id, guild_id, enabled_by, enabled_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (channel_id) DO UPDATE SET guild_id = excluded.guild_id,"
                " enabled_by = excluded.enabled_by, enabled_at = excluded.enabled_at",
                (channel_id, guild_id, by, time.time()),
            )
        else:
            await self.db.execute("DELETE FROM enabled_channels WHERE channel_id = ?", (channel_id,))

    async def enabled_channels(self) -> set[str]:
        return {r["channel_id"] for r in await self.db.fetch_all("SELECT channel_id FROM enabled_channels")}

    # saved rigs (the /myrig feature writes the JSON; the store only keeps it) -----
    async def set_rig(self, user_id: str, rig: dict) -> None:
        await self.db.execute(
            "INSERT INTO saved_rigs (user_id, rig, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET rig = excluded.rig, updated_at = excluded.updated_at",
            (user_id, json.dumps(rig), time.time()),
        )

    async def get_rig(self, user_id: str) -> dict | None:
        row = await self.db.fetch_one("SELECT rig FROM saved_rigs WHERE user_id = ?", (user_id,))
        return json.loads(row["rig"]) if row else None

    async def delete_rig(self, user_id: str) -> bool:
        return await self.db.execute("DELETE FROM saved_rigs WHERE user_id = ?", (user_id,)) == 1

    # user reports ---------------------------------------------------------------
    async def add_report(self, user_id: str, text: str, *, channel_id: str | None = None,
                         answer_id: int | None = None) -> int:
        """A user's report (a wrong answer, a missing GPU); over-long text is cut."""
        return await self._insert(
            "INSERT INTO user_reports (ts, user_id, channel_id, answer_id, text) VALUES (?, ?, ?, ?, ?)",
            (time.time(), user_id, channel_id, answer_id, text[:MAX_REPORT_CHARS]),
        )

    async def reports(self, status: str | None = "open", limit: int = 50) -> list[Row]:
        """Newest first; `status=None` for all."""
        if status is None:
            return await self.db.fetch_all("SELECT * FROM user_reports ORDER BY id DESC LIMIT ?", (limit,))
        return await self.db.fetch_all(
            "SELECT * FROM user_reports WHERE status = ? ORDER BY id DESC LIMIT ?", (status, limit))

    async def set_report_status(self, report_id: int, status: str) -> bool:
        return await self.db.execute(
            "UPDATE user_reports SET status = ? WHERE id = ?", (status, report_id)) == 1

    # conversation state (per channel and user; small and short-lived) ------------
    async def save_conversation(self, channel_id: str, user_id: str, state: dict,
                                now: float | None = None, guild_id: str | None = None) -> None:
        """Replace the state; raises StateTooLarge over MAX_CONVERSATION_BYTES. Also
        drops every conversation older than CONVERSATION_TTL_S (an indexed delete)."""
        text = json.dumps(state, ensure_ascii=False)
        size = len(text.encode())
        if size > MAX_CONVERSATION_BYTES:
            raise StateTooLarge(f"conversation state is {size} bytes; at most {MAX_CONVERSATION_BYTES}")
        now = time.time() if now is None else now
        await self.db.execute(
            "INSERT INTO conversations (channel_id, user_id, state, updated_at, guild_id) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (channel_id, user_id) DO UPDATE SET state = excluded.state,"
            " updated_at = excluded.updated_at, guild_id = excluded.guild_id",
            (channel_id, user_id, text, now, guild_id),
        )
        await self.db.execute("DELETE FROM conversations WHERE updated_at < ?", (now - CONVERSATION_TTL_S,))

    async def load_conversation(self, channel_id: str, user_id: str, now: float | None = None) -> dict | None:
        """The state, or None when there is none or it is older than CONVERSATION_TTL_S."""
        now = time.time() if now is None else now
        row = await self.db.fetch_one(
            "SELECT state FROM conversations WHERE channel_id = ? AND user_id = ? AND updated_at >= ?",
            (channel_id, user_id, now - CONVERSATION_TTL_S),
        )
        return json.loads(row["state"]) if row else None

    async def conversation_updated_at(self, channel_id: str, user_id: str) -> float | None:
        """When RigBot last answered this user in this channel (the state's time), or None."""
        row = await self.db.fetch_one(
            "SELECT updated_at FROM conversations WHERE channel_id = ? AND user_id = ?", (channel_id, user_id))
        return row["updated_at"] if row else None

    async def clear_conversation(self, channel_id: str, user_id: str) -> None:
        await self.db.execute("DELETE FROM conversations WHERE channel_id = ? AND user_id = ?",
                              (channel_id, user_id))

    async def clear_conversations_of(self, user_id: str) -> int:
        """Every conversation state of a user, in every channel (their rig changed)."""
        return await self.db.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))

    # rate limits (a sliding window per key, shared by every process) ------------
    async def hit_rate_limit(self, key: str, limit: int, window_s: float, now: float) -> float | None:
        """Count one hit for `key` when fewer than `limit` fall in the last `window_s`
        and return None; else count nothing and return the seconds until one expires.
        Atomic across processes: the key's row is locked (PostgreSQL) or the write
        lock held (SQLite) from the read to the write. `now` is the caller's wall clock
        (the same in every process; a simulated one in tests)."""
        if limit <= 0:
            return None
        for _ in range(3):  # a row pruned between our insert and our lock: take it again
            async with self.db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO rate_limits (key, hits, updated_at) VALUES (?, '[]', ?)"
                    " ON CONFLICT (key) DO NOTHING", (key, now))
                row = await tx.fetch_one("SELECT hits FROM rate_limits WHERE key = ?" + tx.for_update, (key,))
                if row is None:
                    continue
                hits = [t for t in json.loads(row["hits"]) if now - t < window_s]
                retry = None
                if len(hits) >= limit:
                    retry = max(0.0, hits[-limit] + window_s - now)
                else:
                    hits.append(now)
                await tx.execute("UPDATE rate_limits SET hits = ?, updated_at = ? WHERE key = ?",
                                 (json.dumps(hits), now, key))
            break
        else:
            raise RuntimeError(f"rate limit row for {key!r} kept disappearing")
        # windows that went quiet keep no row: a statement of its own, after the commit,
        # so it never holds one key's lock while waiting for another's
        await self.db.execute("DELETE FROM rate_limits WHERE updated_at < ?", (now - 2 * window_s,))
        return retry

    # speed reports (/report: measured decode tokens/s, one per user per configuration) --
    async def put_speed_report(self, user_id: str, *, device: str, gpu_count: int, model: str, quant: str,
                               tokens_per_s: float, context: int | None = None, source: str = "typed",
                               now: float | None = None) -> bool:
        """Store a report; a report from the same user for the same configuration
        (device, count, model, quant) replaces theirs. True when it replaced one."""
        now = time.time() if now is None else now
        async with self.db.transaction() as tx:
            replaced = await tx.fetch_one(
                "SELECT id FROM speed_reports WHERE user_id = ? AND device = ? AND gpu_count = ?"
                " AND model = ? AND quant = ?" + tx.for_update, (user_id, device, gpu_count, model, quant))
            await tx.execute(
                "INSERT INTO speed_reports (user_id, device, gpu_count, model, quant, context, tokens_per_s,"
                " source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, device, gpu_count, model, quant) DO UPDATE SET"
                " context = excluded.context, tokens_per_s = excluded.tokens_per_s,"
                " source = excluded.source, created_at = excluded.created_at",
                (user_id, device, gpu_count, model, quant, context, tokens_per_s, source, now))
        return replaced is not None

    async def speed_reports(self, user_id: str | None = None, limit: int = 20000) -> list[Row]:
        """Every report (newest first), or one user's."""
        if user_id is None:
            return await self.db.fetch_all("SELECT * FROM speed_reports ORDER BY id DESC LIMIT ?", (limit,))
        return await self.db.fetch_all(
            "SELECT * FROM speed_reports WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user_id, limit))

    async def speed_reports_version(self) -> tuple:
        """Changes whenever a report is added, replaced or deleted (for caches)."""
        # the sums of what a replacement changes: its clock need not be the newest
        # (Discord's interaction time, a second instance), so MAX(created_at) alone misses it
        row = await self.db.fetch_one(
            "SELECT COUNT(*) AS n, MAX(created_at) AS latest, SUM(id) AS ids, SUM(tokens_per_s) AS speeds,"
            " SUM(created_at) AS times, SUM(COALESCE(context, 0)) AS contexts FROM speed_reports")
        return tuple(row[k] for k in ("n", "latest", "ids", "speeds", "times", "contexts")) if row else (0,)

    async def delete_speed_reports(self, user_id: str, report_id: int | None = None) -> int:
        """A user's own reports: all, or the one with `report_id` (only if theirs)."""
        if report_id is None:
            return await self.db.execute("DELETE FROM speed_reports WHERE user_id = ?", (user_id,))
        return await self.db.execute("DELETE FROM speed_reports WHERE user_id = ? AND id = ?",
                                     (user_id, report_id))

    async def purge_user(self, user_id: str) -> dict[str, int]:
        """Everything kept about one user: speed reports, saved rig, conversations,
        free-text reports, rate-limit windows; their logged questions lose their text
        and their user id (the answer rows stay, for the counts). Rows per kind."""
        async with self.db.transaction() as tx:
            done = {
                "speed_reports": await tx.execute("DELETE FROM speed_reports WHERE user_id = ?", (user_id,)),
                "saved_rig": await tx.execute("DELETE FROM saved_rigs WHERE user_id = ?", (user_id,)),
                "conversations": await tx.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,)),
                "feedback_reports": await tx.execute("DELETE FROM user_reports WHERE user_id = ?", (user_id,)),
                "rate_limits": await tx.execute(
                    "DELETE FROM rate_limits WHERE key IN (?, ?, ?, ?)",
                    (f"llm:{user_id}", f"report:{user_id}", f"sizing:{user_id}", f"notice:{user_id}")),
                "questions": await tx.execute(
                    "UPDATE answers SET question = '', user_id = NULL WHERE user_id = ?", (user_id,)),
            }
            await tx.execute("UPDATE answers SET feedback_by = NULL WHERE feedback_by = ?", (user_id,))
        log.info("purged user %s: %s", user_id, done)
        return done

    async def purge_user_in_guild(self, user_id: str, guild_id: str, channel_ids: list[str] = ()) -> dict[str, int]:
        """What one server holds about a user: their conversations there and their
        questions logged there (text and user id cleared; the rows stay for the counts),
        their free-text reports from its channels. Rows logged before the server was
        recorded are matched by `channel_ids` (the server's channels). Nothing the user
        keeps across servers (saved rig, speed reports) and nothing of other servers."""
        channels = [str(c) for c in channel_ids]
        conversation_keys = [f"discord:{c}" for c in channels]

        def among(column: str, values: list[str]) -> tuple[str, tuple]:
            if not values:
                return "", ()
            return f" OR ({column} IN ({', '.join('?' * len(values))}) AND guild_id IS NULL)", tuple(values)

        async with self.db.transaction() as tx:
            extra, args = among("channel_id", conversation_keys)
            conversations = await tx.execute(
                f"DELETE FROM conversations WHERE user_id = ? AND (guild_id = ?{extra})", (user_id, guild_id, *args))
            extra, args = among("channel_id", channels)
            where = f"(guild_id = ?{extra})"
            await tx.execute(f"UPDATE answers SET feedback_by = NULL WHERE feedback_by = ? AND {where}",
                             (user_id, guild_id, *args))
            questions = await tx.execute(
                f"UPDATE answers SET question = '', user_id = NULL WHERE user_id = ? AND {where}",
                (user_id, guild_id, *args))
            reports = 0
            if channels:
                reports = await tx.execute(
                    f"DELETE FROM user_reports WHERE user_id = ? AND channel_id IN ({', '.join('?' * len(channels))})",
                    (user_id, *channels))
            done = {"conversations": conversations, "questions": questions, "feedback_reports": reports}
        log.info("purged user %s in guild %s: %s", user_id, guild_id, done)
        return done
