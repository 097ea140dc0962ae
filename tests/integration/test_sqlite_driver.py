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
