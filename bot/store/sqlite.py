"""The SQLite file (aiosqlite, WAL): the default store, one machine.

The connection runs in autocommit mode (`isolation_level=None`): every statement
commits on its own, and a transaction is an explicit `BEGIN IMMEDIATE`, which takes
the write lock before reading, so two processes cannot both decide to write the
same thing (a deferred transaction would read first and fail on the upgrade).
aiosqlite runs one connection on one thread, so an asyncio lock keeps other tasks'
statements out of a transaction in progress."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.store.database import (
    Database,
    Row,
    Session,
    StoreUnavailable,
    close_at_exit,
    closed,
    reason,
)

BUSY_TIMEOUT_MS = 15000  # how long a writer waits for another process's write lock


def _dict_row(cursor: sqlite3.Cursor, row: tuple) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def split_script(script: str) -> list[str]:
    """`executescript` would COMMIT first and so release the write lock: run the
    statements one by one instead, inside the transaction."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements


class _SQLiteSession(Session):
    dialect = "sqlite"
    id_column = "id INTEGER PRIMARY KEY"
    float = "REAL"
    bigint = "INTEGER"
    for_update = ""  # BEGIN IMMEDIATE already holds the whole file's write lock

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, args: tuple = ()) -> int:
        async with self.conn.execute(sql, args) as cursor:
            return cursor.rowcount

    async def fetch_all(self, sql: str, args: tuple = ()) -> list[Row]:
        return list(await self.conn.execute_fetchall(sql, args))

    async def executescript(self, script: str) -> None:
        for statement in split_script(script):
            await self.execute(statement)


class SQLiteDatabase(_SQLiteSession, Database):
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        super().__init__(conn)
        self.path = path
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, path: Path) -> SQLiteDatabase:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise cls.unavailable(path, exc) from exc
        try:  # aiosqlite's thread is not a daemon: a connection left open keeps the process alive
            conn.row_factory = _dict_row
            await conn.execute_fetchall(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await _set_wal(conn)
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, (OSError, sqlite3.Error)):
                raise cls.unavailable(path, exc) from exc
            raise
        return close_at_exit(cls(conn, path))

    @staticmethod
    def unavailable(path: Path, exc: BaseException) -> StoreUnavailable:
        return StoreUnavailable(
            f"RigBot cannot open its database {path} ({reason(exc)}); set RIGBOT_DATA_DIR "
            "to a folder it can write, or RIGBOT_DATABASE_URL to a PostgreSQL server.")

    @property
    def where(self) -> str:
        return str(self.path)

    async def execute(self, sql: str, args: tuple = ()) -> int:
        async with self._lock:
            return await super().execute(sql, args)

    async def fetch_all(self, sql: str, args: tuple = ()) -> list[Row]:
        async with self._lock:
            return await super().fetch_all(sql, args)

    async def executescript(self, script: str) -> None:
        async with self.transaction() as tx:
            await tx.executescript(script)

    @asynccontextmanager
    async def transaction(self, *, migration: bool = False) -> AsyncIterator[Session]:
        async with self._lock:
            await self.conn.execute_fetchall("BEGIN IMMEDIATE")
            try:
                yield _SQLiteSession(self.conn)
            except BaseException:
                await self.conn.execute_fetchall("ROLLBACK")
                raise
            await self.conn.execute_fetchall("COMMIT")

    async def close(self) -> None:
        try:
            await self.conn.close()
        finally:
            closed(self)

    def abandon(self) -> None:
        self.conn.stop()  # the worker thread ends once the statements queued before this are done


async def _set_wal(conn) -> None:
    """Switch to WAL, retrying while another connection holds the fresh file: SQLite answers
    "database is locked" to a journal-mode change at once, without the busy timeout, when
    several processes open a new database together (seen with 8 at once)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            await conn.execute_fetchall("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
