"""SQLite statements that cannot wait run at once (storage/sqlite_driver.py); one that must
wait for another process's write lock waits on aiosqlite's thread, never on the event loop."""

from __future__ import annotations

import asyncio
import sqlite3

from sqlalchemy import make_url, text

from storage.db import create_engine, read_only, session_factory


async def test_a_write_waits_for_another_process_lock_while_the_bot_keeps_running(
    sqlite_url: str,
) -> None:
    engine = create_engine(sqlite_url)
    sessions = session_factory(engine)
    other = sqlite3.connect(str(make_url(sqlite_url).database), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # e.g. `qabot import` in another process

        async def write() -> None:
            async with sessions() as session, session.begin():
                await session.execute(text("CREATE TABLE waited (n INTEGER)"))

        async def read() -> int:
            async with sessions() as session:
                await read_only(session)
                return len((await session.execute(text("SELECT 1"))).all())

        writing = asyncio.create_task(write())
        done, _ = await asyncio.wait([writing], timeout=0.3)
        assert not done  # still waiting for the lock…
        assert await read() == 1  # …and meanwhile the loop and readers carry on
        other.execute("COMMIT")
        await writing
        async with sessions() as session:
            assert (await session.execute(text("SELECT count(*) FROM waited"))).scalar() == 0
    finally:
        other.close()
        await engine.dispose()


async def test_writers_of_this_process_take_the_write_lock_in_arrival_order(
    sqlite_url: str,
) -> None:
    """A writer that had to wait is not overtaken by one that comes later and finds the lock
    free at that instant (SQLite's busy handler would let it: the poller's store starved)."""
    engine = create_engine(sqlite_url)
    sessions = session_factory(engine)
    other = sqlite3.connect(str(make_url(sqlite_url).database), isolation_level=None)
    order: list[str] = []
    try:
        async with sessions() as session, session.begin():
            await session.execute(text("CREATE TABLE turns (name TEXT)"))
        other.execute("BEGIN IMMEDIATE")

        async def write(name: str) -> None:
            async with sessions() as session, session.begin():
                order.append(name)
                await session.execute(text("INSERT INTO turns VALUES (:n)"), {"n": name})

        first = asyncio.create_task(write("waited first"))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(write("came later"))
        await asyncio.sleep(0.05)
        other.execute("COMMIT")
        await asyncio.gather(first, second)
        assert order == ["waited first", "came later"]
    finally:
        other.close()
        await engine.dispose()
