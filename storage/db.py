"""Engine and sessions for any SQLAlchemy async URL (SQLite by default, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_driver

# Execution option of a transaction that only reads (see `read_only`).
READ_ONLY = "qabot_read_only"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


def insert_for(session: AsyncSession) -> Any:
    """The session's dialect's `insert`: ON CONFLICT is written differently on each."""
    return pg_insert if dialect_of(session) == "postgresql" else sqlite_insert


Statement = TypeVar("Statement")


def per_dialect(build: Callable[[Any], Statement]) -> dict[str, Statement]:
    """A hot statement built once for each dialect from that dialect's `insert`; pick it with
    `dialect_of(session)`."""
    return {"sqlite": build(sqlite_insert), "postgresql": build(pg_insert)}


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file so a fresh checkout just works."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, busy_timeout: float = 30.0, **kwargs: Any) -> AsyncEngine:
    """An engine; on SQLite a writer waits up to `busy_timeout` seconds for the file lock."""
    ensure_sqlite_folder(url)
    if is_sqlite(url):
        # Writers queue on the file lock instead of failing at once.
        kwargs.setdefault("connect_args", {"timeout": busy_timeout})
        # aiosqlite without its thread hop for statements that cannot wait (sqlite_driver.py).
        kwargs["connect_args"].setdefault("async_creator_fn", sqlite_driver.connect)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        _tune_sqlite(engine, busy_timeout)
    return engine


def _tune_sqlite(engine: AsyncEngine, busy_timeout: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling would start transactions too late for
        # BEGIN IMMEDIATE; we issue BEGIN ourselves (see the "begin" listener).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock at the start: a read-then-write transaction can then never
        # fail half-way with "database is locked" when another writer got in between.
        begin = "BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        # On the driver's cursor: SQLAlchemy's statement machinery is most of a BEGIN's cost.
        # Its errors are wrapped as SQLAlchemy would ("database is locked" is an
        # OperationalError the callers know: the turn waits in the inbox, never an apology).
        dbapi = connection.dialect.loaded_dbapi
        cursor = connection.connection.cursor()
        try:
            cursor.execute(begin)
        except dbapi.Error as error:
            raise exc.DBAPIError.instance(begin, None, error, dbapi.Error) from error
        finally:
            cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def read_only(session: AsyncSession) -> None:
    """Begin the session's transaction as a reader: on SQLite a plain BEGIN, which never
    waits for (nor holds) the write lock (health checks, the inbox worker's look-ups)."""
    await session.connection(execution_options={READ_ONLY: True})
