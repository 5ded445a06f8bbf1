"""What the store needs from a database, whichever engine it is: run a statement,
fetch rows as dicts, and a transaction that holds the write lock (SQLite) or a row
or advisory lock (PostgreSQL). SQL is written once with `?` placeholders; the
PostgreSQL driver numbers them. The few words the dialects spell differently in
DDL are attributes here (`id_column`, `float`, `bigint`), so a migration reads the
same on both."""

from __future__ import annotations

import contextlib
import logging
import threading
from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from typing import Any

log = logging.getLogger(__name__)

Row = dict[str, Any]


class StoreUnavailable(RuntimeError):
    """The database could not be opened or reached; the message is a sentence for
    the person running RigBot (what, where, why, what to change)."""


def reason(exc: BaseException) -> str:
    """A short reason from an engine's or the OS's exception."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


class Session(ABC):
    """Statements on one connection: the database itself (each statement commits on
    its own) or the inside of a transaction."""

    dialect: str
    id_column: str  # an auto-numbered integer primary key named `id`
    float: str  # a double-precision number (SQLite's REAL is 8 bytes, PostgreSQL's is 4)
    bigint: str  # a 64-bit integer (references to `id`)
    for_update: str  # suffix that locks the selected rows until the transaction ends

    @abstractmethod
    async def execute(self, sql: str, args: tuple = ()) -> int:
        """Run one statement; the number of rows it changed."""

    @abstractmethod
    async def fetch_all(self, sql: str, args: tuple = ()) -> list[Row]:
        ...

    async def fetch_one(self, sql: str, args: tuple = ()) -> Row | None:
        rows = await self.fetch_all(sql, args)
        return rows[0] if rows else None

    @abstractmethod
    async def executescript(self, script: str) -> None:
        """Several `;`-separated statements (migrations), inside the current transaction."""


class Database(Session):
    """Every engine's connect() hands its database to `close_at_exit` and its close()
    takes it back with `closed`, so no connection outlives the process's end."""

    @abstractmethod
    def abandon(self) -> None:
        """Let the connection go without the event loop (it may be closed already): called
        at interpreter exit for a database nobody closed. Must not block."""

    @abstractmethod
    def transaction(self, *, migration: bool = False) -> AbstractAsyncContextManager[Session]:
        """A transaction that commits when the block ends and rolls back on an error.
        It writes from its first statement (no lock upgrade to fail halfway). With
        `migration=True`, only one process at a time holds it, across processes."""

    @abstractmethod
    async def close(self) -> None:
        ...

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the data lives, for messages (no password)."""


# connections nobody closed ------------------------------------------------------------
# held strongly: a database dropped unclosed may still have its connection referenced
# elsewhere (a pending future, a cycle), and then only this hook would ever stop its thread
_unclosed: set[Database] = set()
_unclosed_lock = threading.Lock()
_exit_hook_installed = False


def close_at_exit(db: Database) -> Database:
    """Let `db` go at interpreter exit if its owner never closes it (a harness that drops
    the bot without close(), an exception past the adapter, Ctrl-C). aiosqlite runs each
    connection on a thread that is not a daemon, and the interpreter joins such threads
    before running atexit handlers: one forgotten connection kept the process alive for
    ever. So the hook is registered with threading's own pre-join hook, as
    concurrent.futures does, and applies to every connection the store opens."""
    global _exit_hook_installed
    with _unclosed_lock:
        _unclosed.add(db)
        if not _exit_hook_installed:
            threading._register_atexit(_abandon_unclosed)
            _exit_hook_installed = True
    return db


def closed(db: Database) -> None:
    with _unclosed_lock:
        _unclosed.discard(db)


def _abandon_unclosed() -> None:
    with _unclosed_lock:
        left = list(_unclosed)
        _unclosed.clear()
    for db in left:
        with contextlib.suppress(Exception):  # exiting: nothing to report it to
            db.abandon()
