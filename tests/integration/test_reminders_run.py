"""`qabot remind --now` as a subprocess, and the daily scheduler inside `qabot run`
(its catch-up after downtime included)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.delivery import Delivery
from bot.scheduler import Scheduler
from domain.clock import FixedClock
from handlers.core import Core
from handlers.usecases.people import bind
from handlers.usecases.reminders import swept_on
from storage.models import OutboxMessage, SweepRun
from tests.conftest import World
from tests.integration.test_reminders import bind_people, set_due

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE = time(9, 0)


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=SHANGHAI).astimezone(UTC)


async def remind(env: dict[str, str], *args: str) -> dict[str, object]:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "remind", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])  # type: ignore[no-any-return]


async def test_remind_command_across_a_holiday_and_an_adjusted_working_day(
    core: Core, world: World, sqlite_url: str, tmp_path: Path
) -> None:
    await bind_people(core, world)
    await set_due(core, world.bureau_commitment, date(2026, 10, 12))
    await set_due(core, world.enterprise_commitment, date(2026, 10, 9))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECOM_", "QABOT_"))
    }
    env.update(DATABASE_URL=sqlite_url, QABOT_DATA_DIR=str(tmp_path / "data"))
    await core.sessions.kw["bind"].dispose()

    holiday = await remind(env, "--now", "2026-10-05T09:00:00+08:00")
    assert holiday["working_day"] is False and holiday["digests"] == 0
    # No offset: local time in QABOT_TIMEZONE (Asia/Shanghai by default).
    adjusted = await remind(env, "--now", "2026-10-10T09:00")
    assert adjusted["day"] == "2026-10-10" and adjusted["working_day"] is True
    assert adjusted["digests"] == 2 and adjusted["channels"] == []
    again = await remind(env, "--now", "2026-10-10T10:00:00+08:00")
    assert again["digests"] == 0

    bad = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "remind", "--now", "yesterday"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1

    async with core.sessions() as session:
        kinds = list(await session.scalars(select(OutboxMessage.kind)))
        assert kinds.count("digest") == 2
        days = list(await session.scalars(select(SweepRun.day)))
        assert days == [date(2026, 10, 10)]


class TestScheduler:
    async def test_sweeps_once_at_remind_at_on_working_days(self, core: Core, world: World) -> None:
        await bind_people(core, world)
        clock = core.clock
        assert isinstance(clock, FixedClock)
        delivery = Delivery(core, [])
        scheduler = Scheduler(core, NINE, delivery)
        clock.instant = local(date(2026, 12, 1), 8, 59)
        assert await scheduler.tick() is None
        assert scheduler.seconds_to_next() == 60
        clock.instant = local(date(2026, 12, 1), 9)
        report = await scheduler.tick()
        assert report is not None and report.digests == 2 and delivery.wakeup.is_set()
        clock.instant = local(date(2026, 12, 1), 9, 1)
        assert await scheduler.tick() is None
        clock.instant = local(date(2026, 12, 5), 9)  # Saturday
        assert await scheduler.tick() is None

    async def test_catches_up_a_sweep_missed_while_down(self, core: Core, world: World) -> None:
        await bind_people(core, world)
        clock = core.clock
        assert isinstance(clock, FixedClock)
        # The bot was down at 09:00 and starts at 14:30: the day's sweep runs at start-up.
        clock.instant = local(date(2026, 12, 1), 14, 30)
        report = await Scheduler(core, NINE).tick()
        assert report is not None and report.digests == 2
        assert await swept_on(core, date(2026, 12, 1))
        # A restart later that day does not sweep again.
        assert await Scheduler(core, NINE).tick() is None

    async def test_runs_until_cancelled(self, core: Core, world: World) -> None:
        await bind_people(core, world)
        clock = core.clock
        assert isinstance(clock, FixedClock)
        clock.instant = local(date(2026, 9, 30), 20)
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            clock.advance(timedelta(seconds=seconds))
            if clock.now() >= local(date(2026, 10, 10), 12):
                raise SystemExit

        with contextlib.suppress(SystemExit):
            await Scheduler(core, NINE, sleep=sleep).run_forever()
        async with core.sessions() as session:
            days = sorted(await session.scalars(select(SweepRun.day)))
        assert days == [date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10)]


async def test_remind_command_delivers_through_telegram(
    core: Core, world: World, sqlite_url: str, tmp_path: Path
) -> None:
    """With TELEGRAM_BOT_TOKEN set, `qabot remind` sends the digests it queued, then exits."""
    pytest.importorskip("bot.telegram")
    from tests.fakes.fake_telegram import FakeTelegram

    async with FakeTelegram(token="123:REMIND") as tg:
        now = core.clock.now()
        async with core.sessions() as session, session.begin():
            await bind(session, "telegram", "7001", "7001", world.officer[1], "王丽", now)
            await bind(session, "telegram", "7002", "7002", world.enterprise[1], "联系人", now)
        tg.add_user(7001)
        tg.add_user(7002)
        await core.sessions.kw["bind"].dispose()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "WECOM_", "QABOT_"))
        }
        env.update(
            DATABASE_URL=sqlite_url,
            QABOT_DATA_DIR=str(tmp_path / "data"),
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE_URL=tg.base_url,
            TELEGRAM_FILE_BASE_URL=tg.base_file_url,
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "remind",
            "--now",
            "2026-12-01T09:00:00+08:00",
            "--json",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        result = json.loads(out.decode())
        assert result["channels"] == ["telegram"] and result["digests"] == 2
        assert result["delivery"]["sent"] == 2
        officer = [m.text or "" for m in tg.sent_messages(7001)]
        staff = [m.text or "" for m in tg.sent_messages(7002)]
        assert len(officer) == 1 and "2026-12-01 待办提醒" in officer[0]
        assert len(staff) == 1 and "建立追溯台账" in staff[0]
        # Sending only: no polling, no webhook changes by a one-off command.
        assert not {c.method for c in tg.requests} & {"getUpdates", "setWebhook", "deleteWebhook"}
