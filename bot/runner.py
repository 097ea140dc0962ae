"""`qabot run`: every configured channel, the outbox worker and the reminder scheduler."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from bot.channels import Channel
from bot.delivery import Delivery
from bot.runtime import Runtime
from bot.settings import Settings
from bot.web import build_app

log = logging.getLogger(__name__)


def configured_channels(settings: Settings, runtime: Runtime) -> list[Channel]:
    channels: list[Channel] = []
    if settings.telegram_enabled:
        from bot.telegram_channel import TelegramChannel

        channels.append(TelegramChannel(settings, runtime.core))
    if settings.wecom_enabled:
        from bot.wecom_channel import WeComChannel

        channels.append(WeComChannel(settings, runtime.core))
    return channels


async def run(settings: Settings, runtime: Runtime) -> None:
    """Run until cancelled (Ctrl-C or SIGTERM)."""
    channels = configured_channels(settings, runtime)
    delivery = Delivery(runtime.core, list(channels))
    app = build_app(runtime.core, [route for channel in channels for route in channel.routes()])
    host, port = settings.listen_host_port
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    for channel in channels:
        await channel.start()
    log.info("qabot running: %s on %s:%s", ", ".join(c.channel for c in channels), host, port)
    try:
        await asyncio.gather(server.serve(), delivery.run_forever())
    finally:
        for channel in channels:
            await channel.stop()
