"""`qabot run`: every configured channel, the outbox worker and the reminder scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import uvicorn

from bot.channels import Channel
from bot.delivery import Delivery
from bot.errors import SetupError
from bot.runtime import Runtime
from bot.scheduler import deliver_and_remind
from bot.settings import Settings
from bot.web import build_app

log = logging.getLogger(__name__)


def configured_channels(settings: Settings, runtime: Runtime) -> list[Channel]:
    channels: list[Channel] = []
    if settings.telegram_enabled:
        from bot.telegram import TelegramChannel

        channels.append(TelegramChannel(settings, runtime.core, limiter=runtime.limiter))
    if settings.wecom_enabled:
        from bot.wecom import WeComChannel

        channels.append(WeComChannel(settings, runtime.core, limiter=runtime.limiter))
    return channels


async def run(settings: Settings, runtime: Runtime) -> None:
    """Run until cancelled (Ctrl-C or SIGTERM): the web server first, then the channels (a
    webhook must be reachable before it is registered), and the outbox worker."""
    channels = configured_channels(settings, runtime)
    delivery = Delivery(runtime.core, list(channels), limiter=runtime.limiter)
    for channel in channels:
        # Finished turns wake the worker, so their notifications go out now.
        channel.after_turn = delivery.wakeup.set
    app = build_app(runtime.core, [route for channel in channels for route in channel.routes()])
    host, port = settings.listen_host_port
    # Bound and listening before any channel starts: early requests wait in the backlog.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listening = socket.create_server((host, port), family=family)
    except OSError as error:
        raise SetupError(f"QABOT_LISTEN {host}:{port}: {error.strerror or error}") from None
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listening]), name="web")
    started: list[Channel] = []
    working: asyncio.Task[None] | None = None
    try:
        for channel in channels:
            try:
                await channel.start()
            except Exception as error:
                # A refused token or an unreachable API at start is the operator's to fix.
                log.debug("starting %s failed", channel.channel, exc_info=True)
                raise SetupError(f"{channel.channel} could not start: {error}") from None
            started.append(channel)
        log.info("qabot running: %s on %s:%s", ", ".join(c.channel for c in channels), host, port)
        working = asyncio.create_task(
            deliver_and_remind(runtime.core, settings.remind_at, delivery), name="outbox"
        )
        done, _ = await asyncio.wait({serving, working}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        server.should_exit = True
        if working is not None:
            working.cancel()
        for channel in reversed(started):
            try:
                await channel.stop()
            except Exception:
                log.exception("stopping %s failed", channel.channel)
        with contextlib.suppress(asyncio.CancelledError):
            await serving
