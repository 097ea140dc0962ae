"""Virtual time for pacing tests: a monotonic clock and a sleep that wait for nothing real.

The clock moves only when no slot granted by the limiter is still being used: every task
that took a slot (its `sleep` returned) counts as sending until it calls `sent()` or sleeps
again. Then time jumps to the earliest wake-up. So a fake API reading the same clock sees each
message at the instant of its slot, however slow the machine — never a compressed bunch.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Coroutine
from typing import Any


class VirtualTime:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Task[object] | None, asyncio.Future[None]]]
        self._sleepers = []
        self._sending: set[asyncio.Task[object] | None] = set()
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        task = asyncio.current_task()
        self._sending.discard(task)
        if seconds > 0:
            self.slept += seconds
            woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), task, woken))
            self._advance_if_idle()
            await woken  # `_advance_if_idle` counted this task as sending when it woke it
        else:
            self._sending.add(task)
            await asyncio.sleep(0)

    def sent(self) -> None:
        """The current task is done with its slot."""
        self._sending.discard(asyncio.current_task())
        self._advance_if_idle()

    def _advance_if_idle(self) -> None:
        if self._sending or not self._sleepers:
            return
        self.now = max(self.now, self._sleepers[0][0])
        while self._sleepers and self._sleepers[0][0] <= self.now:
            _, _, task, woken = heapq.heappop(self._sleepers)
            self._sending.add(task)
            woken.set_result(None)


def virtual_pacer(clock: VirtualTime) -> Any:
    """The Telegram channel's pacer at its default rates on `clock`, telling the clock when each
    request is done (share the clock with FakeTelegram.monotonic)."""
    from bot.pacing import Limiter
    from bot.telegram import Pacer

    class VirtualPacer(Pacer):
        async def process_request(
            self,
            callback: Callable[..., Coroutine[Any, Any, Any]],
            args: Any,
            kwargs: dict[str, Any],
            endpoint: str,
            data: dict[str, Any],
            rate_limit_args: None,
        ) -> Any:
            async def send(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await callback(*args, **kwargs)
                finally:
                    clock.sent()

            return await super().process_request(
                send, args, kwargs, endpoint, data, rate_limit_args
            )

    return VirtualPacer(Limiter(monotonic=clock.monotonic, sleep=clock.sleep))
