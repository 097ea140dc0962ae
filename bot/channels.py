"""What `qabot run`, `qabot remind` and the outbox worker expect of a network channel
(Telegram, WeCom): every member they use is declared here, none is probed for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from starlette.routing import BaseRoute

from bot.delivery import Sender


class Channel(Sender, Protocol):
    """A running channel: receives updates, serves its HTTP routes, delivers replies."""

    # Called after a turn that queued notifications: `qabot run` wakes the outbox worker with
    # it, so they go out now (the worker also looks every second).
    after_turn: Callable[[], None] | None

    def routes(self) -> list[BaseRoute]:
        """HTTP routes to mount on the one server at QABOT_LISTEN (webhooks, callbacks)."""
        ...

    async def start(self) -> None:
        """Start receiving (the inbox worker, polling, webhook registration)."""
        ...

    async def stop(self) -> None: ...

    async def open_for_sending(self) -> None:
        """Able to send without receiving (`qabot remind`): no polling, no webhook change."""
        ...

    async def close_for_sending(self) -> None: ...
