"""`qabot files copy-to-database`: moving to the database store keeps every attachment."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from domain.clock import FixedClock
from tests.conftest import build_world, make_core
from tests.e2e.test_cli import env, json_out, run
from tests.integration.test_conversations import bind, submit_report

__all__ = ["env"]

PHOTO = b"\xff\xd8fake-jpeg"


async def test_existing_files_are_copied_once_and_then_served_from_the_database(
    env: dict[str, str], clock: FixedClock, tmp_path: Path
) -> None:
    # A report with a photo, taken while the files were in the local folder.
    local = make_core(env["DATABASE_URL"], clock, Path(env["QABOT_DATA_DIR"]) / "files")
    world = await build_world(local)
    await submit_report(await bind(local, "staff", world.enterprise[1]))
    await local.sessions.kw["bind"].dispose()

    first = await asyncio.to_thread(run, ["files", "copy-to-database", "--json"], env)
    assert json_out(first) == {
        "copied": 1,
        "already_there": 0,
        "missing": 0,
        "missing_sha256": [],
    }
    again = await asyncio.to_thread(run, ["files", "copy-to-database"], env)
    assert again.returncode == 0, again.stderr
    assert "copied 0, already in the database 1, missing" in again.stdout

    # Another machine with an empty data folder now finds the photo in the database.
    other = make_core(env["DATABASE_URL"], clock, tmp_path / "elsewhere", "database")
    try:
        assert await other.files.load(hashlib.sha256(PHOTO).hexdigest()) == PHOTO
    finally:
        await other.sessions.kw["bind"].dispose()
