"""The store: one interface (`Store`), two engines behind it. `RIGBOT_DATABASE_URL`
unset: the SQLite file in the data directory (one machine); `postgresql://...`:
PostgreSQL, shared by several bot processes. The same named migrations are applied
once per database and recorded in `_migrations`."""

from __future__ import annotations

from pathlib import Path

from bot.store.database import Database, Row, StoreUnavailable
from bot.store.migrations import MIGRATIONS
from bot.store.store import CONVERSATION_TTL_S, MAX_CONVERSATION_BYTES, StateTooLarge, Store

__all__ = ["CONVERSATION_TTL_S", "MAX_CONVERSATION_BYTES", "MIGRATIONS", "Database", "Row",
           "StateTooLarge", "Store", "StoreUnavailable", "connect", "open_store"]


def is_postgres_url(url: str) -> bool:
    return url.split("://", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


async def connect(target: str | Path) -> Store:
    """An open, migrated store: a `postgresql://` URL, or a path to an SQLite file."""
    if isinstance(target, str) and "://" in target:
        if not is_postgres_url(target):
            raise StoreUnavailable(f"RIGBOT_DATABASE_URL must be a postgresql:// URL, not {target.split('://', 1)[0]}://;"
                                   " unset it to use the SQLite file in the data directory.")
        from bot.store.postgres import PostgresDatabase  # asyncpg only when asked for

        db: Database = await PostgresDatabase.connect(target)
    else:
        from bot.store.sqlite import SQLiteDatabase

        db = await SQLiteDatabase.connect(Path(target))
    return await Store.open(db)


async def open_store(settings) -> Store:
    """The store the settings choose."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    return await connect(url or settings.db_path)
