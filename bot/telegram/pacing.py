"""Telegram pacing: python-telegram-bot's rate-limiter hook, drawing on the shared limiter."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter

from bot.pacing import TELEGRAM, TELEGRAM_GROUP, Budget, Limiter, telegram_chat_key

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
    """Each message waits for its slot in its chat's budget (a private chat: a burst of 2, then
    `chat_per_second`; a group: bot/pacing.py), then in the bot's `overall_per_second`.

    The margins under Telegram's 30/s and ~1/s absorb the jitter between our slots and the
    arrival Telegram counts. The overall budget has no burst, so no second holds more.
    """

    def __init__(
        self, limiter: Limiter, overall_per_second: float = 25, chat_per_second: float = 1
    ) -> None:
        self.limiter = limiter
        self.overall = Budget.per_second(overall_per_second)
        self.private_chat = Budget.per_second(chat_per_second, burst=2)

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
            if chat_id is None:
                await self.limiter.wait([(TELEGRAM, self.overall)])
            else:
                budget = self.private_chat if chat_id > 0 else TELEGRAM_GROUP
                own = (telegram_chat_key(chat_id), budget)
                await self.limiter.wait_in_turn(own, (TELEGRAM, self.overall))
        return await callback(*args, **kwargs)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None
