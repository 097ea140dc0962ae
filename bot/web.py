"""The one ASGI server at QABOT_LISTEN: health, readiness, metrics, and each channel's routes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import time

from alembic.script import ScriptDirectory
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.metrics import CONTENT_TYPE, Metrics
from handlers.core import Core
from storage.db import read_only
from storage.migrate import alembic_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migrations:
    """This code's migrations: where they lead, and every revision on the way."""

    head: str | None
    known: frozenset[str]

    @classmethod
    def of_this_code(cls) -> Migrations:
        scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
        known = frozenset(script.revision for script in scripts.walk_revisions())
        return cls(scripts.get_current_head(), known)

    def ready_on(self, revision: str | None) -> bool:
        """At our head, or ahead of it: a revision we do not know is a newer release's, and
        expand/contract keeps its schema working for us while the instances are rolled."""
        return revision == self.head or (revision is not None and revision not in self.known)


def build_app(
    core: Core,
    routes: list[BaseRoute],
    metrics: Metrics | None = None,
    remind_at: time = time(9, 0),
) -> Starlette:
    # Once, at start: the code does not change under a running process.
    migrations = Migrations.of_this_code()

    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> PlainTextResponse:
        async with core.sessions() as session:
            try:
                # A reader: never waits for, nor holds, SQLite's write lock.
                await read_only(session)
                await session.execute(text("SELECT 1"))
            except Exception as error:
                log.warning("readiness check failed: %s", error)
                return PlainTextResponse("database unreachable", status_code=503)
            try:
                revision = await session.scalar(text("SELECT version_num FROM alembic_version"))
            except Exception:
                revision = None  # never migrated
        if not migrations.ready_on(revision):
            log.warning(
                "not ready: the database is at %s, this code at %s", revision, migrations.head
            )
            return PlainTextResponse("migrations not at head", status_code=503)
        return PlainTextResponse("ready")

    async def exposition(_: Request) -> Response:
        assert metrics is not None
        try:
            body = await metrics.exposition(core, remind_at)
        except Exception as error:
            log.warning("metrics not read: %s", error)
            return PlainTextResponse("database unreachable", status_code=503)
        return Response(body, media_type=CONTENT_TYPE)

    own = [Route("/healthz", healthz), Route("/readyz", readyz)]
    if metrics is not None:
        own.append(Route("/metrics", exposition))
    return Starlette(routes=[*own, *routes])
