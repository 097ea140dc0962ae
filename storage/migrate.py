"""Apply the Alembic migrations: `qabot db upgrade`, and start-up of `qabot run`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Create or migrate the schema; runs its own event loop, so call it outside one."""
    # "heads": branches developed in parallel each add a revision on the same base until
    # they are chained; every head is applied.
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str) -> None:
    """The same from inside a running event loop (Alembic's env starts its own loop)."""
    await asyncio.to_thread(upgrade, url)
