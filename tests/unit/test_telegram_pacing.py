"""The Telegram pacer on virtual time: its limits hold without a test waiting in real time."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.pacing import Limiter
from bot.telegram import Pacer
from tests.fakes.virtual_time import VirtualTime


def pacer_on(clock: VirtualTime, **rates: float) -> Pacer:
    return Pacer(Limiter(monotonic=clock.monotonic, sleep=clock.sleep), **rates)


async def send(pacer: Pacer, clock: VirtualTime, sent: list[tuple[float, int]], chat: int) -> None:
    async def send_message(chat_id: int) -> dict[str, Any]:
        sent.append((clock.monotonic(), chat_id))
        clock.sent()
        return {}

    await pacer.process_request(send_message, (chat,), {}, "sendMessage", {"chat_id": chat}, None)


async def send_all(pacer: Pacer, clock: VirtualTime, chats: list[int]) -> list[tuple[float, int]]:
    """Every message at once, as the outbox worker and the turns of many chats do."""
    sent: list[tuple[float, int]] = []
    await asyncio.gather(*(send(pacer, clock, sent, chat) for chat in chats))
    return sent


def most_in_any_window(times: list[float], window: float) -> int:
    window -= 1e-6  # the float error of adding up slots
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


async def test_one_private_chat_gets_a_burst_of_two_then_one_a_second() -> None:
    clock = VirtualTime()
    sent: list[tuple[float, int]] = []
    pacer = pacer_on(clock)
    for _ in range(12):  # one after the other, as one person's messages go
        await send(pacer, clock, sent, 7)
    times = [t - 1000.0 for t, _ in sent]
    assert times[1] <= 0.04 + 1e-9  # the burst (spaced only by the bot's 25/s)
    assert all(abs(t - n) < 1e-6 for n, t in enumerate(times[2:], 1))  # then one a second
    assert clock.now - 1000.0 >= 10.0  # ten seconds of virtual waiting, none of it real


async def test_many_chats_at_once_stay_under_the_overall_rate_from_the_settings() -> None:
    clock = VirtualTime()
    sent = await send_all(pacer_on(clock, overall_per_second=25), clock, list(range(1, 301)))
    assert len(sent) == 300
    assert most_in_any_window([t for t, _ in sent], 1.0) == 25
    assert 11.9 <= clock.now - 1000.0 <= 12.1  # 300 messages at 25/s, no slower


async def test_a_chat_s_many_messages_at_once_keep_one_a_second_among_other_chats() -> None:
    clock = VirtualTime()
    sent = await send_all(pacer_on(clock), clock, [7] * 20 + list(range(100, 200)))
    mine = [t for t, chat in sent if chat == 7]
    assert len(mine) == 20
    assert most_in_any_window(mine, 1.0) <= 2  # the burst, never more
    assert most_in_any_window(mine, 10.0) <= 11  # 1/s after it
    assert most_in_any_window([t for t, _ in sent], 1.0) <= 25
    others = [t for t, chat in sent if chat != 7]
    assert max(others) - 1000.0 <= 120 / 25  # the busy chat holds back no other chat


async def test_a_group_gets_at_most_eighteen_a_minute() -> None:
    clock = VirtualTime()
    sent = await send_all(pacer_on(clock), clock, [-100] * 60)
    assert most_in_any_window([t for t, _ in sent], 60.0) == 18


async def test_raised_pacing_does_not_hold_a_benchmark_back() -> None:
    clock = VirtualTime()
    pacer = pacer_on(clock, overall_per_second=100_000, chat_per_second=100_000)
    await send_all(pacer, clock, [7] * 50 + list(range(1, 1001)))
    assert clock.now - 1000.0 < 0.05
