"""The Telegram pacer on a virtual clock: its limits hold without a test waiting in real time."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.telegram import Pacer


class VirtualTime:
    """A monotonic clock that only moves when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        self.slept += max(0.0, seconds)
        await asyncio.sleep(0)


async def send_all(pacer: Pacer, clock: VirtualTime, chats: list[int]) -> list[tuple[float, int]]:
    sent: list[tuple[float, int]] = []

    async def send_message(chat_id: int) -> dict[str, Any]:
        sent.append((clock.monotonic(), chat_id))
        return {}

    for chat_id in chats:
        await pacer.process_request(
            send_message, (chat_id,), {}, "sendMessage", {"chat_id": chat_id}, None
        )
    return sent


def most_in_any_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


async def test_one_private_chat_gets_a_burst_of_two_then_one_a_second() -> None:
    clock = VirtualTime()
    pacer = Pacer(monotonic=clock.monotonic, sleep=clock.sleep)
    sent = await send_all(pacer, clock, [7] * 12)
    times = [t for t, _ in sent]
    assert times[1] - times[0] == 0.0  # the burst
    gaps = [later - earlier for earlier, later in zip(times[1:-1], times[2:], strict=True)]
    assert all(abs(gap - 1.0) < 1e-9 for gap in gaps)  # then one a second
    assert clock.slept >= 10.0  # ten seconds of virtual waiting, none of it real


async def test_many_chats_stay_under_the_overall_rate_from_the_settings() -> None:
    clock = VirtualTime()
    pacer = Pacer(overall_per_second=25, monotonic=clock.monotonic, sleep=clock.sleep)
    sent = await send_all(pacer, clock, list(range(1, 301)))
    assert most_in_any_window([t for t, _ in sent], 1.0) == 25
    assert 11.0 <= clock.now - 1000.0 <= 12.5  # 300 messages at 25/s


async def test_raised_pacing_does_not_hold_a_benchmark_back() -> None:
    clock = VirtualTime()
    pacer = Pacer(
        overall_per_second=100_000,
        chat_interval=1 / 100_000,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    await send_all(pacer, clock, [7] * 50 + list(range(1, 1001)))
    assert clock.slept < 0.01
