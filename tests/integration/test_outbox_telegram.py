"""Digests through the real Telegram channel against the fake Bot API: 300 people at once,
30% of sends failing with 429/502, every digest delivered exactly once and not one 429 for
exceeding the 30 messages/s the fake enforces — on virtual time shared by qabot's pacing and
the fake's limits, so the 12+ s the pacing takes are not waited for."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from bot.delivery import Delivery, close_senders, open_senders
from bot.settings import Settings
from domain.clock import FixedClock
from domain.reminders import QuietHours
from domain.roles import Party, Role
from handlers.core import Core
from handlers.usecases.commitments import add_commitment
from handlers.usecases.people import add_enterprise, add_officer, bind
from handlers.usecases.reminders import sweep
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.virtual_time import VirtualTime, virtual_pacer

telegram_channel = pytest.importorskip("bot.telegram")

PEOPLE = 300


async def contacts_due_a_digest(core: Core, tg: FakeTelegram, count: int) -> list[int]:
    now = core.clock.now()
    chats = []
    async with core.sessions() as session, session.begin():
        officer, _ = await add_officer(session, "王丽", "杭州市", Role.OFFICER, now)
        for n in range(count):
            chat = 5_000 + n
            firm, code = await add_enterprise(session, f"企业{n}", "杭州市", officer.id, None, now)
            await add_commitment(session, firm.id, Party.ENTERPRISE, f"事项{n}", core.today(), now)
            await bind(session, "telegram", str(chat), str(chat), code, f"联系人{n}", now)
            tg.add_user(chat)
            chats.append(chat)
    return chats


async def test_three_hundred_digests_through_faults_exactly_once_without_429(
    core: Core,
) -> None:
    async with FakeTelegram(token="123:OUTBOX") as tg:
        chats = await contacts_due_a_digest(core, tg, PEOPLE)
        assert (await sweep(core)).digests == PEOPLE
        tg.fault_rate(0.3, codes=(429, 502), seed=11)
        settings = Settings(
            telegram_bot_token=tg.token,
            telegram_api_base_url=tg.base_url,
            telegram_file_base_url=tg.base_file_url,
        )
        clock = VirtualTime()
        tg.monotonic = clock.monotonic
        channel = telegram_channel.TelegramChannel(settings, core, pacer=virtual_pacer(clock))
        await open_senders([channel])
        try:
            delivery = Delivery(core, [channel], QuietHours(core.tz))
            wall = core.clock
            assert isinstance(wall, FixedClock)
            sent = 0
            for _ in range(40):
                sent += (await delivery.run_once()).sent
                if sent == PEOPLE:
                    break
                wall.advance(timedelta(seconds=30))  # past every backoff and retry_after
        finally:
            await close_senders([channel])
        assert sent == PEOPLE
        assert clock.now - 1000.0 >= (PEOPLE + len(tg.faults_served)) / 25 - 1  # paced at 25/s
        assert len(tg.faults_served) > 30
        assert tg.rate_limited == 0
        assert tg.rejected == []
        received = Counter(m.chat_id for m in tg.sent_messages() if m.chat_id in set(chats))
        assert received == {chat: 1 for chat in chats}
