"""`qabot run`: every configured channel, the outbox worker and the reminder scheduler —
all of it (`--role all`), or one side of it for several instances on one database
(README "Running several instances"):

- `web` receives (webhook or polling, the inbox worker) and takes turns;
- `worker` delivers the outbox and runs the daily sweep, its channels opened for sending only.

Both serve /healthz, /readyz and /metrics; only a role that receives serves the channels' routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Literal

import uvicorn

from bot import metrics
from bot.channels import Channel
from bot.delivery import Delivery
from bot.errors import SetupError
from bot.logs import default_instance_name
from bot.runtime import Runtime, settle_heap
from bot.scheduler import deliver_and_remind
from bot.settings import Settings
from bot.web import build_app

log = logging.getLogger(__name__)

Role = Literal["web", "worker", "all"]
ROLES: tuple[Role, ...] = ("web", "worker", "all")


def configured_channels(settings: Settings, runtime: Runtime) -> list[Channel]:
    channels: list[Channel] = []
    if settings.telegram_enabled:
        from bot.telegram import TelegramChannel

        channels.append(TelegramChannel(settings, runtime.core, limiter=runtime.limiter))
    if settings.wecom_enabled:
        from bot.wecom import WeComChannel

        channels.append(WeComChannel(settings, runtime.core, limiter=runtime.limiter))
    return channels


async def run(settings: Settings, runtime: Runtime, role: Role = "all") -> None:
    """Run until cancelled (Ctrl-C or SIGTERM): the web server first, then the channels (a
    webhook must be reachable before it is registered), and the outbox worker."""
    receives, works = role in ("web", "all"), role in ("worker", "all")
    instance = settings.instance_name or default_instance_name()
    # Every task started from here (requests, inbox worker, outbox worker, sweep) records here.
    app_metrics = metrics.Metrics()
    metrics.use(app_metrics)
    channels = configured_channels(settings, runtime)
    delivery = Delivery(runtime.core, list(channels), limiter=runtime.limiter)
    if works:
        for channel in channels:
            # Finished turns wake the worker, so their notifications go out now.
            channel.after_turn = delivery.wakeup.set
    routes = [route for channel in channels for route in channel.routes()] if receives else []
    app = build_app(runtime.core, routes, app_metrics, settings.remind_at)
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
            await _start(channel, receives)
            started.append(channel)
        if receives:
            _warn_if_polling(settings, role)
        settle_heap()
        log.info(
            "qabot running as %s (%s): %s on %s:%s",
            instance, role, ", ".join(c.channel for c in channels), host, port,
        )  # fmt: skip
        tasks = {serving}
        if works:
            working = asyncio.create_task(
                deliver_and_remind(runtime.core, settings.remind_at, delivery, instance),
                name="outbox",
            )
            tasks.add(working)
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        server.should_exit = True
        if working is not None:
            working.cancel()
        for channel in reversed(started):
            try:
                await (channel.stop() if receives else channel.close_for_sending())
            except Exception:
                log.exception("stopping %s failed", channel.channel)
        with contextlib.suppress(asyncio.CancelledError):
            await serving


async def _start(channel: Channel, receives: bool) -> None:
    try:
        await (channel.start() if receives else channel.open_for_sending())
    except Exception as error:
        # A refused token or an unreachable API at start is the operator's to fix.
        log.debug("starting %s failed", channel.channel, exc_info=True)
        raise SetupError(f"{channel.channel} could not start: {error}") from None


def _warn_if_polling(settings: Settings, role: Role) -> None:
    if settings.telegram_enabled and not settings.telegram_webhook_url and role == "web":
        # Telegram hands updates to one getUpdates caller at a time (409 Conflict for others).
        log.warning(
            "telegram: polling; only one instance may poll a bot — several instances need "
            "webhook mode (TELEGRAM_WEBHOOK_URL)"
        )
