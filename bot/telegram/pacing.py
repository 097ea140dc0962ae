"""Telegram pacing: sends spread under its flood limits before they are made."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter

# Methods that create a message: the ones Telegram's flood limits count.
PACED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendAudio",
        "sendVideo",
        "sendVoice",
        "sendAnimation",
        "sendSticker",
        "copyMessage",
        "forwardMessage",
    }
)


class Pacer(BaseRateLimiter[None]):
    """Spreads sends under Telegram's limits before they are made, rather than hitting 429s.

    Overall a rolling window of `overall_per_second`; per private chat a token bucket of
    `chat_burst` refilled at one message per `chat_interval` seconds; per group a rolling
    minute of `group_per_minute`. The margins under Telegram's 30/s, ~1/s and 20/min absorb
    the jitter between our clock and the arrival time Telegram counts.
    """

    def __init__(
        self,
        overall_per_second: float = 25,
        chat_burst: int = 2,
        chat_interval: float = 1.0,
        group_per_minute: int = 18,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        # Injectable, so tests of the pacing advance a fake clock instead of waiting.
        self.monotonic, self.sleep = monotonic, sleep
        self.overall_per_second = overall_per_second
        self.chat_burst = chat_burst
        self.chat_interval = chat_interval
        self.group_per_minute = group_per_minute
        self._overall: deque[float] = deque()
        self._overall_lock = asyncio.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}
        self._groups: dict[int, deque[float]] = defaultdict(deque)
        self._chat_locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint in PACED_METHODS:
            chat_id = _int_or_none(data.get("chat_id"))
            if chat_id is not None:
                await self._wait_for_chat(chat_id)
            await self._wait_overall()
        return await callback(*args, **kwargs)

    async def _wait_for_chat(self, chat_id: int) -> None:
        async with self._chat_locks[chat_id]:
            if chat_id < 0:
                window = self._groups[chat_id]
                while True:
                    now = self.monotonic()
                    while window and now - window[0] >= 60.0:
                        window.popleft()
                    if len(window) < self.group_per_minute:
                        window.append(now)
                        return
                    await self.sleep(window[0] + 60.0 - now)
            now = self.monotonic()
            tokens, stamp = self._buckets.get(chat_id, (float(self.chat_burst), now))
            tokens = min(float(self.chat_burst), tokens + (now - stamp) / self.chat_interval)
            if tokens < 1.0:
                await self.sleep((1.0 - tokens) * self.chat_interval)
                now, tokens = self.monotonic(), 1.0
            self._buckets[chat_id] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:
            self._forget_idle_chats(now)

    def _forget_idle_chats(self, now: float) -> None:
        """Drop chats whose bucket is full again: they would start from full anyway."""
        refilled = self.chat_burst * self.chat_interval
        for chat_id, (_, stamp) in list(self._buckets.items()):
            lock = self._chat_locks.get(chat_id)
            if now - stamp >= refilled and (lock is None or not lock.locked()):
                self._buckets.pop(chat_id, None)
                self._chat_locks.pop(chat_id, None)

    async def _wait_overall(self) -> None:
        async with self._overall_lock:
            while True:
                now = self.monotonic()
                while self._overall and now - self._overall[0] >= 1.0:
                    self._overall.popleft()
                if len(self._overall) < self.overall_per_second:
                    self._overall.append(now)
                    return
                await self.sleep(self._overall[0] + 1.0 - now)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None
