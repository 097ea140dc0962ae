"""The shared limiter on virtual time: each kind of budget keeps its platform's limit."""

from __future__ import annotations

import asyncio
import random

import pytest

from bot.pacing import TELEGRAM_GROUP, WECOM_MEMBER, Budget, Limiter, schedule, wecom_member_key
from tests.fakes.virtual_time import VirtualTime


def most_in_any_window(times: list[float], window: float) -> int:
    window -= 1e-6  # the float error of adding up slots
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_each_budget_is_strict_enough_for_its_platform() -> None:
    assert WECOM_MEMBER.most_in(61.0) <= 30  # WeCom drops what exceeds 30 a minute
    assert TELEGRAM_GROUP.most_in(60.0) <= 18  # Telegram: 20 a minute in a group
    assert Budget.per_second(25).most_in(1.0) == 25


async def test_a_wecom_member_never_gets_more_than_thirty_in_any_61_seconds() -> None:
    """Replies of 1 to 10 messages for one member from many turns at once, each reply sent
    whole at its slot: bursts and the steady rate together stay within 30 a minute."""
    clock = VirtualTime()
    limiter = Limiter(monotonic=clock.monotonic, sleep=clock.sleep)
    member = [(wecom_member_key("wangli"), WECOM_MEMBER)]
    sent: list[float] = []
    sizes = random.Random(3).choices(range(1, 11), k=60)

    async def reply(size: int) -> None:
        await limiter.wait(member, size)
        sent.extend([clock.monotonic()] * size)
        clock.sent()

    await asyncio.gather(*(reply(size) for size in sizes))
    assert len(sent) == sum(sizes)
    assert sent[:10].count(sent[0]) >= sizes[0]  # a whole reply goes at once
    assert most_in_any_window(sent, 61.0) <= 30
    # …and the member is not held back more than that budget needs.
    assert clock.now - 1000.0 <= (sum(sizes) - WECOM_MEMBER.burst) * WECOM_MEMBER.interval + 1


async def test_a_sender_s_declared_rate_spaces_its_sends() -> None:
    clock = VirtualTime()
    limiter = Limiter(monotonic=clock.monotonic, sleep=clock.sleep)
    sent: list[float] = []

    async def send() -> None:
        await limiter.wait([("sender:fake", Budget.per_second(30))])
        sent.append(clock.monotonic())
        clock.sent()

    await asyncio.gather(*(send() for _ in range(60)))
    assert most_in_any_window(sent, 1.0) == 30
    assert clock.now - 1000.0 == pytest.approx(59 / 30)


async def test_a_wait_longer_than_the_caller_accepts_reserves_nothing() -> None:
    clock = VirtualTime()
    limiter = Limiter(monotonic=clock.monotonic, sleep=clock.sleep)
    member = [(wecom_member_key("wangli"), WECOM_MEMBER)]
    assert await limiter.reserve(member, WECOM_MEMBER.burst, max_wait=0.0) == 0.0
    wait = await limiter.reserve(member, 1, max_wait=0.0)
    assert wait == pytest.approx(WECOM_MEMBER.interval)
    # Asking again gets the same answer: the refused reservation took no slot.
    assert await limiter.reserve(member, 1, max_wait=0.0) == pytest.approx(wait)


def test_a_message_counted_in_two_budgets_takes_the_same_instant_in_both() -> None:
    chat, bot = Budget.per_second(1, burst=2), Budget.per_second(25)
    # The bot is busy for 3 s; the chat is free: both move on from the one instant 3 s ahead.
    wait, tats = schedule([None, 1003.0], 1000.0, [chat, bot], 1, 60.0)
    assert wait == 3.0 and tats == [1004.0, 1003.04]
    with pytest.raises(ValueError):
        schedule([None], 1000.0, [chat], 3, 60.0)  # more at once than the burst


def test_a_key_told_of_a_later_send_counts_it_then_without_waiting_for_it() -> None:
    chat, bot = Budget.per_second(1, burst=2), Budget.per_second(25)
    # The chat's slot was taken at 1000 (its TAT 1001); the bot's queue sends it at 1003.
    wait, tats = schedule([1003.0, 1001.0], 1000.0, [bot, chat], 1, 60.0, [True, False])
    assert wait == 3.0 and tats == [1003.04, 1004.0]
    # Told of a send within its own schedule, the chat's TAT stays.
    wait, tats = schedule([1000.5, 1003.0], 1000.0, [bot, chat], 1, 60.0, [True, False])
    assert wait == 0.5 and tats == [1000.54, 1003.0]
