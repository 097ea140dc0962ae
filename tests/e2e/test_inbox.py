"""The inbox under a locked database (issue 12, item 13) and its pruning: a message waits and is
handled when the lock frees, /readyz only reads, handled rows do not pile up forever."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.web import build_app
from bot.wecom import WeComChannel
from domain.calendar import WorkingCalendar
from domain.clock import FixedClock
from handlers.core import Core
from storage import inbox
from storage.db import create_engine, session_factory
from storage.files import LocalFileStore
from storage.models import ConversationState, InboxUpdate, ProcessedUpdate
from tests.e2e.test_wecom_channel import AES_KEY, AGENT, CORP, SECRET, TOKEN, WeCom, settings_for
from tests.fakes.fake_wecom import FakeWeCom


@pytest.fixture
def sqlite_path(sqlite_url: str) -> Path:
    return Path(sqlite_url.split("///", 1)[1])


@pytest.fixture
async def impatient_core(sqlite_url: str, clock: FixedClock, tmp_path: Path) -> AsyncIterator[Core]:
    """A core whose writers give up on SQLite's lock after 0.2 s rather than 30 s."""
    engine = create_engine(sqlite_url, busy_timeout=0.2)
    yield Core(
        sessions=session_factory(engine),
        clock=clock,
        tz=clock.now().tzinfo,  # type: ignore[arg-type]
        files=LocalFileStore(tmp_path / "files"),
        calendar=WorkingCalendar(),
    )
    await engine.dispose()


@contextlib.contextmanager
def write_locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's long write: the file's write lock held until released."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


async def test_a_message_waits_in_the_inbox_while_the_database_is_locked(
    impatient_core: Core, sqlite_url: str, sqlite_path: Path
) -> None:
    core = impatient_core
    async with FakeWeCom(CORP, SECRET, agent_id=AGENT) as fake:
        channel = WeComChannel(settings_for(fake.base_url, sqlite_url), core)
        app = build_app(core, channel.routes())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://qabot") as client:
            wecom = WeCom(fake, channel, client, core, WeChatCrypto(TOKEN, AES_KEY, CORP))
            body, query = wecom.encrypt(wecom.message("lisi", "text", Content="/help"))
            # Stored and answered; then another program holds the write lock for a long time.
            assert (await wecom.post_raw(body, query)).status_code == 200
            waits: list[float] = []
            with write_locked(sqlite_path) as other:

                async def the_lock_frees_after_a_while(delay: float) -> None:
                    waits.append(delay)
                    if len(waits) == 3:
                        other.execute("COMMIT")
                    await asyncio.sleep(0)

                channel.inbox.sleep = the_lock_frees_after_a_while
                await channel.start()
                await channel.drain()
        await channel.stop()
    texts = wecom.texts(fake.sent)
    assert len(waits) == 3  # tried, waited, tried again: not answered while locked
    assert "/help" in texts and "/start" in texts  # the help text, once the lock was free
    assert "出错" not in texts and "抱歉" not in texts
    assert len([m for m in fake.sent if m["touser"] == "lisi"]) == 1


async def test_readyz_reads_without_waiting_for_the_write_lock(
    core: Core, sqlite_path: Path
) -> None:
    app = build_app(core, [])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://qabot") as client:
        with write_locked(sqlite_path):
            # The writers' busy timeout is 30 s; a reader does not queue behind the lock.
            ready = await asyncio.wait_for(client.get("/readyz"), timeout=3)
    assert (ready.status_code, ready.text) == (200, "ready")


async def test_prune_keeps_what_is_needed_and_deletes_the_rest(any_core: Core) -> None:
    core = any_core
    now = core.clock.now()
    old, recent = now - timedelta(days=8), now - timedelta(days=1)
    arrivals = [inbox.Arrival(f"t:{n}", "telegram", "1", {"update_id": n}) for n in range(1, 5)]
    async with core.sessions() as session, session.begin():
        await inbox.store(session, arrivals, old)
        ids = list(await session.scalars(select(InboxUpdate.id).order_by(InboxUpdate.id)))
        await inbox.mark_done(session, ids[:2], old)  # handled a week ago
        await inbox.mark_done(session, ids[2:3], recent)  # handled yesterday; ids[3] waits
        session.add_all(
            [
                ProcessedUpdate(key="t:1", processed_at=old),
                ProcessedUpdate(key="t:3", processed_at=recent),
                ConversationState(
                    channel="telegram", chat_id="idle", data={}, updated_at=now - timedelta(days=40)
                ),
                ConversationState(
                    channel="telegram",
                    chat_id="draft",
                    flow="rp",
                    step="product",
                    data={"areas": ["std"]},
                    updated_at=now - timedelta(days=40),
                ),
                ConversationState(
                    channel="telegram",
                    chat_id="chose-english",
                    data={},
                    language="en",
                    updated_at=now - timedelta(days=40),
                ),
            ]
        )
    async with core.sessions() as session, session.begin():
        pruned = await inbox.prune(session, now)
    assert (pruned.inbox, pruned.processed_updates, pruned.conversation_states) == (2, 1, 1)
    async with core.sessions() as session:
        left = list(await session.scalars(select(InboxUpdate.key).order_by(InboxUpdate.id)))
        assert left == ["t:3", "t:4"]  # yesterday's, and the one still waiting
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1
        chats = set(await session.scalars(select(ConversationState.chat_id)))
        assert chats == {"draft", "chose-english"}
