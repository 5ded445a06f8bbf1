"""Schema changes: small named functions, applied once per database in list order
and recorded in `_migrations`. Never rename or reorder one; add a new one at the end.

A migration gets a `Session` inside the migration transaction and writes DDL both
SQLite and PostgreSQL accept, using `db.id_column`, `db.float` and `db.bigint` for
the words they spell differently (on SQLite they read exactly as before the store
supported PostgreSQL, so existing files are unchanged)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.store.database import Session

Migration = Callable[[Session], Awaitable[None]]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
async def m001_initial(db: Session) -> None:
    await db.executescript(
        f"""
        CREATE TABLE hosts (
            {db.id_column},
            probed_at {db.float} NOT NULL,
            info TEXT NOT NULL            -- JSON from bot.host.probe_host()
        );
        CREATE TABLE answers (
            {db.id_column},
            ts {db.float} NOT NULL,
            question TEXT NOT NULL,
            route TEXT NOT NULL,
            intent TEXT,
            verdict TEXT,
            latency_ms {db.float},
            sources TEXT,                 -- JSON list of {{title, section, score}}
            error TEXT,
            user_id TEXT,
            channel_id TEXT,
            host_id {db.bigint} REFERENCES hosts(id)
        );
        CREATE TABLE generations (
            {db.id_column},
            answer_id {db.bigint} REFERENCES answers(id),
            ts {db.float} NOT NULL,
            model TEXT NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            prompt_ms {db.float},
            generation_ms {db.float},
            tokens_per_s {db.float},
            ttft_ms {db.float},
            n_threads INTEGER,
            n_gpu_layers INTEGER,
            host_id {db.bigint} REFERENCES hosts(id)
        );
        """
    )


@migration
async def m002_channels_and_memory(db: Session) -> None:
    await db.executescript(
        f"""
        CREATE TABLE enabled_channels (
            channel_id TEXT PRIMARY KEY,
            guild_id TEXT,
            enabled_by TEXT,
            enabled_at {db.float} NOT NULL
        );
        CREATE TABLE remembered (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at {db.float} NOT NULL
        );
        """
    )


@migration
async def m003_feedback(db: Session) -> None:
    await db.execute("ALTER TABLE answers ADD COLUMN feedback INTEGER")  # +1 / -1
    await db.execute("ALTER TABLE answers ADD COLUMN feedback_by TEXT")


# --- LLM server timings (issue 7): the server's own figures beside the streamed ones ---
@migration
async def m004_llm_server_timings(db: Session) -> None:
    # tokens_per_s stays the streamed figure (first to last token, as a user sees it);
    # these are the server's own `timings` and which endpoint (URL host) generated
    await db.execute(f"ALTER TABLE generations ADD COLUMN server_tokens_per_s {db.float}")
    await db.execute(f"ALTER TABLE generations ADD COLUMN server_prompt_tokens_per_s {db.float}")
    await db.execute("ALTER TABLE generations ADD COLUMN cached_prompt_tokens INTEGER")
    await db.execute("ALTER TABLE generations ADD COLUMN endpoint TEXT")


# --- the faithfulness gate (issue 9): what it cut from each generated answer ---
@migration
async def m005_gate_cuts(db: Session) -> None:
    await db.executescript(
        f"""
        CREATE TABLE gate_cuts (
            {db.id_column},
            answer_id {db.bigint} REFERENCES answers(id),
            ts {db.float} NOT NULL,
            reason TEXT NOT NULL,        -- wrong_language, loop, unsupported_number, ...
            excerpt TEXT NOT NULL,       -- the sentence cut, at most 200 characters
            fell_back INTEGER NOT NULL   -- 1 when the whole generation was replaced by the sources
        );
        CREATE INDEX gate_cuts_answer ON gate_cuts (answer_id);
        """
    )


# --- models the catalog lacks, looked up online (issue 19): one row per reference ---
@migration
async def m006_online_models(db: Session) -> None:
    await db.executescript(
        f"""
        CREATE TABLE online_models (
            key TEXT PRIMARY KEY,          -- the normalised reference (hub:owner/repo@main/file, ollama:...)
            ok INTEGER NOT NULL,           -- 1: value is the model; 0: value is the failure
            value TEXT NOT NULL,           -- JSON: bot.models_online.OnlineModel, or {{reason, params}}
            source_url TEXT,
            fetched_at {db.float} NOT NULL,
            expires_at {db.float} NOT NULL
        );
        """
    )


# m007..m009: free for later migrations.
# The shared-state tables (m010..) live in bot/store/shared_state_migrations.py.
