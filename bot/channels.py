"""What `qabot run` expects of a network channel (Telegram, WeCom)."""

from __future__ import annotations

from typing import Protocol

from starlette.routing import BaseRoute

from handlers.messages import Reply


class Channel(Protocol):
    """A running channel: receives updates, serves its HTTP routes, delivers replies."""

    channel: str

    def routes(self) -> list[BaseRoute]:
        """HTTP routes to mount on the one server at QABOT_LISTEN (webhooks, callbacks)."""
        ...

    async def start(self) -> None:
        """Start receiving (polling, webhook registration)."""
        ...

    async def stop(self) -> None: ...

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Send one outbox message; raise bot.delivery.DeliveryError on failure."""
        ...
