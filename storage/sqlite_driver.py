"""aiosqlite, minus the thread hops that cannot wait (bench/PROFILE-turn.md, "Whole process").

aiosqlite runs every call on its connection's own thread and hands the result back through the
event loop: SQLAlchemy makes four such calls per SELECT (cursor, execute, fetch, close). Each
one costs a turn of the event loop, and under load a turn of the loop is where the time goes:
a transaction holding SQLite's single write lock held it across some 30 of them.

Only `BEGIN IMMEDIATE` may wait for a lock (SQLite's one write lock); it waits on the event loop,
in arrival order behind this process's other writers, trying again every few milliseconds (see
`Connection._begin_in_turn`). Everything else is run on the caller's thread at once: reads (WAL:
a reader never waits for a writer), and every statement, the commit included, of a transaction
that already holds the write lock (nobody else can be in its way). What remains for aiosqlite's
thread is the rare rest (a write outside a transaction, connecting, closing).
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections import deque
from functools import partial
from typing import Any

import aiosqlite

# Per event loop and database file: this process's writers waiting for the write lock, in
# arrival order (`Connection._begin_in_turn`).
_lines: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, deque[asyncio.Future[None]]]
] = weakref.WeakKeyDictionary()


def _line_for(database: str) -> deque[asyncio.Future[None]]:
    per_loop = _lines.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(database, deque())


class Connection(aiosqlite.Connection):
    _writing = False
    _busy_ms: int | None = None
    _database = ""

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(fn, "__name__", "")
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, sqlite3.Cursor):
            if name in ("execute", "executemany"):
                if self._holds_write_lock() or _reads(args[0]):
                    return fn(*args, **kwargs)
                if _begins_writing(args[0]):
                    await self._begin_in_turn(fn, *args, **kwargs)
                    self._writing = True
                    return None
                result = await super()._execute(fn, *args, **kwargs)
                self._writing = _begins_writing(args[0])
                return result
            if name in ("fetchall", "fetchone", "fetchmany", "close"):
                return fn(*args, **kwargs)
        elif isinstance(owner, sqlite3.Connection) and name in ("cursor", "commit", "rollback"):
            if name != "cursor":
                self._writing = False
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)

    async def _begin_in_turn(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        """Take the write lock: at once when it is free and nobody here waits for it (the
        usual case), else in arrival order behind this process's other writers. SQLite's own
        busy handler is no queue: a writer sleeping in it (up to 100 ms a try) loses the lock,
        again and again, to turns that take it the instant it is free. The first in line
        tries every few milliseconds until the busy timeout, then fails as SQLite would."""
        line = _line_for(self._database)
        if not line and self._begin_at_once(fn, *args, **kwargs):
            return
        loop = asyncio.get_running_loop()
        mine: asyncio.Future[None] = loop.create_future()
        line.append(mine)
        try:
            if line[0] is not mine:
                await mine  # woken when it is first in line
            deadline = loop.time() + self._busy_timeout() / 1000
            pause = 0.001
            while not self._begin_at_once(fn, *args, **kwargs):
                if loop.time() >= deadline:
                    raise sqlite3.OperationalError("database is locked")
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.02)
        finally:
            first = line[0] is mine
            line.remove(mine)
            if first and line and not line[0].done():
                line[0].set_result(None)

    def _busy_timeout(self) -> int:
        if self._busy_ms is None:
            self._busy_ms = int(self._conn.execute("PRAGMA busy_timeout").fetchone()[0])
        return self._busy_ms

    def _begin_at_once(self, fn: Any, *args: Any, **kwargs: Any) -> bool:
        """Take the write lock if it is free, without waiting; False when another holds it."""
        connection = self._conn
        busy_ms = self._busy_timeout()
        connection.execute("PRAGMA busy_timeout=0")
        try:
            fn(*args, **kwargs)
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            return False
        finally:
            connection.execute(f"PRAGMA busy_timeout={busy_ms}")
        return True

    def _holds_write_lock(self) -> bool:
        return self._writing and self._conn.in_transaction


def _reads(sql: str) -> bool:
    """A statement that never waits for a lock in WAL mode: a read, or a deferred BEGIN."""
    words = sql.lstrip()[:16].upper().split()
    return words[:1] == ["SELECT"] or words == ["BEGIN"]


def _begins_writing(sql: str) -> bool:
    return sql.lstrip()[:16].upper().split()[:2] == ["BEGIN", "IMMEDIATE"]


def connect(database: str, iter_chunk_size: int = 64, **kwargs: Any) -> Connection:
    """What `aiosqlite.connect` does, with our connection; it is used from two threads (never
    at once: SQLAlchemy awaits each call before the next), hence check_same_thread=False."""
    kwargs["check_same_thread"] = False
    connection = Connection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size)
    connection._database = database
    # As SQLAlchemy does for aiosqlite's own: a connection never closed must not keep the
    # process from exiting.
    connection._thread.daemon = True
    return connection
