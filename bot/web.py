"""The one ASGI server at QABOT_LISTEN: health, readiness, and each channel's routes."""

from __future__ import annotations

import logging

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from handlers.core import Core
from storage.db import read_only

log = logging.getLogger(__name__)


def build_app(core: Core, routes: list[BaseRoute]) -> Starlette:
    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> PlainTextResponse:
        try:
            async with core.sessions() as session:
                # A reader: never waits for, nor holds, SQLite's write lock.
                await read_only(session)
                await session.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("readiness check failed: %s", error)
            return PlainTextResponse("database unreachable", status_code=503)
        return PlainTextResponse("ready")

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), *routes],
    )
