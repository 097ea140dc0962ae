"""The outbox worker inside `qabot run` delivering to Telegram through 429s, 5xx and blocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.clock import SystemClock
from handlers.core import Core
from storage.models import Report
from tests.conftest import World, make_core
from tests.e2e.telegram_support import BotProcess
from tests.e2e.test_telegram_polling import tg, world, world_db  # noqa: F401 (fixtures)
from tests.fakes.fake_telegram import FakeTelegram, StoredMessage
from tests.integration.test_conversations import submit_report
from tests.support import Chat

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

STAFF, OFFICER = 1001, 2001


@pytest.fixture
async def core(world_db: tuple[str, World], tmp_path: Path) -> AsyncIterator[Core]:  # noqa: F811
    core = make_core(world_db[0], SystemClock(), tmp_path / "var" / "files")  # type: ignore[arg-type]
    yield core
    await core.sessions.kw["bind"].dispose()


async def queue_notifications(core: Core, world: World, reports: int) -> list[str]:  # noqa: F811
    """Before the bot runs: both people bound on Telegram, `reports` reports submitted and
    accepted through the core, so each person has `reports` notifications waiting."""
    staff = Chat(core, str(STAFF), channel="telegram", language="en")
    officer = Chat(core, str(OFFICER), channel="telegram")
    await staff.send(f"/start {world.enterprise[1]}")
    await officer.send(f"/start {world.officer[1]}")
    references = []
    for _ in range(reports):
        reference = await submit_report(staff)
        async with core.sessions() as session:
            report_id = await session.scalar(select(Report.id).where(Report.reference == reference))
        await officer.press(f"rep:acc:{report_id}")
        references.append(reference)
    return references


def addressed(chat: int, reference: str, m: StoredMessage) -> bool:
    return m.chat_id == chat and reference in (m.text or "")


def with_reference(messages: list[StoredMessage], reference: str) -> list[StoredMessage]:
    return [m for m in messages if reference in (m.text or "")]


async def test_429s_and_502s_during_delivery_still_deliver_each_notification_once(
    core: Core,
    tg: FakeTelegram,  # noqa: F811
    world: World,  # noqa: F811
    world_db: tuple[str, World],  # noqa: F811
    tmp_path: Path,
) -> None:
    references = await queue_notifications(core, world, reports=3)
    tg.add_user(STAFF, "Zhang", language_code="en")
    tg.add_user(OFFICER, "Wang", language_code="zh-hans")
    tg.inject_errors([429, 502, 502, 429, 503, 504, 502, 429])
    bot = BotProcess(tg, world_db[0], tmp_path)
    await bot.start()
    try:
        for reference in references:
            for chat in (STAFF, OFFICER):
                await tg.wait_for(partial(addressed, chat, reference), timeout=30)
        await asyncio.sleep(2)  # time for a duplicate to show up, if one were sent
    finally:
        await bot.stop()
    for reference in references:
        officer_got = with_reference(tg.sent_messages(OFFICER), reference)
        staff_got = with_reference(tg.sent_messages(STAFF), reference)
        assert len(officer_got) == 1 and "rep:acc:" in str(officer_got[0].callback_data)
        assert len(staff_got) == 1 and "has accepted the report" in (staff_got[0].text or "")
    assert len(tg.faults_served) == 8
    assert bot.query("SELECT DISTINCT status FROM outbox") == [("sent",)]
    assert tg.rate_limited == 0  # our pacing kept under the fake's own limits
    assert tg.rejected == []
    assert "Traceback" not in bot.log()


async def test_a_blocked_bot_is_recorded_not_retried(
    core: Core,
    tg: FakeTelegram,  # noqa: F811
    world: World,  # noqa: F811
    world_db: tuple[str, World],  # noqa: F811
    tmp_path: Path,
) -> None:
    await queue_notifications(core, world, reports=1)
    tg.add_user(STAFF, "Zhang", language_code="en")
    tg.add_user(OFFICER, "Wang", language_code="zh-hans")
    tg.block(STAFF)
    bot = BotProcess(tg, world_db[0], tmp_path)
    await bot.start()
    try:
        await tg.wait_for(lambda m: m.chat_id == OFFICER, timeout=10)
        unreachable = "SELECT unreachable_since FROM channel_identities WHERE chat_id = ?"
        for _ in range(100):
            if bot.query(unreachable, str(STAFF))[0][0] is not None:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # time for a retry to show up, if one were made
    finally:
        await bot.stop()
    assert [call.method for call in tg.forbidden] == ["sendMessage"]  # tried once, not again
    assert bot.query(
        "SELECT o.status FROM outbox o JOIN channel_identities i ON i.person_id = o.person_id "
        "WHERE i.chat_id = ?",
        str(STAFF),
    ) == [("failed",)]
    assert tg.rejected == []
