"""Issue 12 item 14: `qabot remind` on a flaky network delivers every digest in one run."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.delivery import Delivery, close_senders, open_senders
from bot.remind_run import RemindDelivery, deliver_until_done
from bot.settings import Settings
from bot.telegram import TelegramChannel
from domain.clock import FixedClock
from domain.reminders import QuietHours
from handlers.core import Core
from handlers.usecases.reminders import sweep
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.virtual_time import VirtualTime, virtual_pacer
from tests.integration.test_outbox_telegram import contacts_due_a_digest

PEOPLE = 40


async def remind_once(
    core: Core, tg: FakeTelegram, budget: timedelta
) -> tuple[RemindDelivery, list[float]]:
    """The sweep's delivery as `qabot remind` does it, with a sleeper that only moves the clock,
    and pacing (of the many attempts at one chat) on virtual time shared with the fake."""
    clock = core.clock
    assert isinstance(clock, FixedClock)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    settings = Settings(
        telegram_bot_token=tg.token,
        telegram_api_base_url=tg.base_url,
        telegram_file_base_url=tg.base_file_url,
    )
    pacing = VirtualTime()
    tg.monotonic = pacing.monotonic
    channel = TelegramChannel(settings, core, pacer=virtual_pacer(pacing))
    await open_senders([channel])
    try:
        delivery = Delivery(core, [channel], QuietHours(core.tz))
        return await deliver_until_done(delivery, core, sleep, budget), slept
    finally:
        await close_senders([channel])


async def test_every_digest_is_delivered_in_one_run_under_thirty_percent_faults(
    core: Core,
) -> None:
    async with FakeTelegram(token="123:REMIND") as tg:
        chats = await contacts_due_a_digest(core, tg, PEOPLE)
        assert (await sweep(core)).digests == PEOPLE
        tg.fault_rate(0.3, codes=(429, 502), seed=5)
        outcome, slept = await remind_once(core, tg, timedelta(minutes=10))
        assert outcome.undelivered == 0
        assert outcome.report.sent == PEOPLE
        assert slept and sum(slept) < 600  # it waited for retries, within the budget
        assert len(tg.faults_served) >= 5
        received = Counter(m.chat_id for m in tg.sent_messages() if m.chat_id in set(chats))
        assert received == {chat: 1 for chat in chats}


async def test_what_cannot_be_delivered_within_the_budget_is_counted(core: Core) -> None:
    async with FakeTelegram(token="123:REMIND") as tg:
        await contacts_due_a_digest(core, tg, 3)
        await sweep(core)
        tg.fault_rate(1.0, codes=(502,), seed=1)
        outcome, slept = await remind_once(core, tg, timedelta(minutes=10))
        assert outcome.undelivered == 3
        assert outcome.report.sent == 0
        assert sum(slept) <= 600
