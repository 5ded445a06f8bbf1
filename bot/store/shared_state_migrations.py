"""Tables for state several bot processes share (issue 12): saved rigs, user reports,
conversation state and rate-limit windows, and
answers' request ids (one row per question across processes). Registered after bot/store/migrations.py's
own list; numbered from m010 so other branches can add m004.. without a clash."""

from __future__ import annotations

from bot.store.database import Session
from bot.store.migrations import migration


@migration
async def m010_saved_rigs(db: Session) -> None:
    await db.executescript(
        f"""
        CREATE TABLE saved_rigs (
            user_id TEXT PRIMARY KEY,
            rig TEXT NOT NULL,            -- JSON, as the rig feature writes it
            updated_at {db.float} NOT NULL
        );
        """
    )


@migration
async def m011_user_reports(db: Session) -> None:
    await db.executescript(
        f"""
        CREATE TABLE user_reports (
            {db.id_column},
            ts {db.float} NOT NULL,
            user_id TEXT NOT NULL,
            channel_id TEXT,
            answer_id {db.bigint} REFERENCES answers(id),
            text TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open'
        );
        CREATE INDEX user_reports_status ON user_reports (status, id);
        """
    )


@migration
async def m012_conversations(db: Session) -> None:
    await db.executescript(
        f"""
        CREATE TABLE conversations (
            channel_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            state TEXT NOT NULL,          -- JSON, at most store.MAX_CONVERSATION_BYTES
            updated_at {db.float} NOT NULL,
            PRIMARY KEY (channel_id, user_id)
        );
        CREATE INDEX conversations_updated_at ON conversations (updated_at);
        """
    )


@migration
async def m013_rate_limits(db: Session) -> None:
    await db.executescript(
        f"""
        CREATE TABLE rate_limits (
            key TEXT PRIMARY KEY,         -- e.g. "llm:<discord user id>"
            hits TEXT NOT NULL,           -- JSON list of timestamps inside the window
            updated_at {db.float} NOT NULL
        );
        CREATE INDEX rate_limits_updated_at ON rate_limits (updated_at);
        """
    )


@migration
async def m014_answer_request_ids(db: Session) -> None:
    """A question's own id (a Discord message or interaction id, a load-test id), so a
    question asked again (re-delivered, retried after a process died) keeps one row."""
    await db.execute("ALTER TABLE answers ADD COLUMN request_id TEXT")
    await db.execute("CREATE UNIQUE INDEX answers_request_id ON answers (request_id)")


@migration
async def m015_speed_reports(db: Session) -> None:
    """Decode speeds users measured (/report): one row per user per configuration
    (device, count, model, quant), so a second report from the same user replaces the
    first and no user counts twice. The parsed row only: a paste's raw text is not kept."""
    await db.executescript(
        f"""
        CREATE TABLE speed_reports (
            {db.id_column},
            user_id TEXT NOT NULL,
            device TEXT NOT NULL,         -- catalog GPU name, or catalog CPU name (gpu_count 0)
            gpu_count INTEGER NOT NULL,
            model TEXT NOT NULL,          -- catalog model name
            quant TEXT NOT NULL,
            context INTEGER,              -- when the user gave one
            tokens_per_s {db.float} NOT NULL,
            source TEXT NOT NULL,         -- 'typed' | 'llama-bench'
            created_at {db.float} NOT NULL,
            UNIQUE (user_id, device, gpu_count, model, quant)
        );
        CREATE INDEX speed_reports_config ON speed_reports (device, gpu_count, model, quant);
        """
    )


@migration
async def m016_guild_of_rows(db: Session) -> None:
    """Which Discord server a logged question and a conversation belong to, so a
    server's administrators can purge what their server holds (and nothing a user
    keeps across servers). Rows from before have none; a purge also matches them by
    the server's channels."""
    await db.execute("ALTER TABLE answers ADD COLUMN guild_id TEXT")
    await db.execute("ALTER TABLE conversations ADD COLUMN guild_id TEXT")
    await db.execute("CREATE INDEX answers_guild_user ON answers (guild_id, user_id)")
    await db.execute("CREATE INDEX conversations_guild_user ON conversations (guild_id, user_id)")
