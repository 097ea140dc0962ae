"""aiosqlite, minus the thread hops that cannot wait (bench/PROFILE-turn.md, "Whole process").

aiosqlite runs every call on its connection's own thread and hands the result back through the
event loop: SQLAlchemy makes four such calls per SELECT (cursor, execute, fetch, close). Each
one costs a turn of the event loop, and under load a turn of the loop is where the time goes:
a transaction holding SQLite's single write lock held it across some 30 of them.

Only a statement that may wait for a lock needs the thread: `BEGIN IMMEDIATE` (the write lock)
and a write outside such a transaction. Everything else is run on the caller's thread at once:
reads (WAL: a reader never waits for a writer), and every statement, the commit included, of a
transaction that already holds the write lock (nobody else can be in its way).
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any

import aiosqlite


class Connection(aiosqlite.Connection):
    _writing = False
    _busy_ms: int | None = None

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(fn, "__name__", "")
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, sqlite3.Cursor):
            if name in ("execute", "executemany"):
                if self._holds_write_lock() or _reads(args[0]):
                    return fn(*args, **kwargs)
                if _begins_writing(args[0]) and self._begin_at_once(fn, *args, **kwargs):
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

    def _begin_at_once(self, fn: Any, *args: Any, **kwargs: Any) -> bool:
        """Take the write lock if it is free (the usual case: in this process every write
        transaction now runs from its BEGIN to its commit without letting the loop turn);
        False when it is taken, and then the thread waits for it."""
        connection = self._conn
        if self._busy_ms is None:
            self._busy_ms = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
        connection.execute("PRAGMA busy_timeout=0")
        try:
            fn(*args, **kwargs)
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            return False
        finally:
            connection.execute(f"PRAGMA busy_timeout={self._busy_ms}")
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
    # As SQLAlchemy does for aiosqlite's own: a connection never closed must not keep the
    # process from exiting.
    connection._thread.daemon = True
    return connection
