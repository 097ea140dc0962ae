"""Apply the Alembic migrations: `qabot db upgrade`, and start-up of `qabot run`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Create or migrate the schema; runs its own event loop, so call it outside one."""
    command.upgrade(alembic_config(url), revision)


def upgrade_unless_newer(url: str) -> bool:
    """Upgrade, unless a newer release already migrated the database (a rolling upgrade:
    this instance is an old one restarted before its turn); False then."""
    try:
        upgrade(url)
    except CommandError as error:
        if "Can't locate revision" in str(error):
            return False
        raise
    return True


async def upgrade_async(url: str) -> None:
    """The same from inside a running event loop (Alembic's env starts its own loop)."""
    await asyncio.to_thread(upgrade, url)
