"""The reminder sweep as `qabot remind --now` runs it: digests only on working days (holidays
and 调休 included), day boundaries in Asia/Shanghai, escalations and follow-ups exactly once."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from domain.calendar import is_covered
from domain.clock import FixedClock
from domain.reports import ReportAction, ReportStatus
from domain.roles import Party, Role
from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases.commitments import add_commitment
from handlers.usecases.people import actor_of, add_officer, bind
from handlers.usecases.reminders import SweepReport, sweep, swept_on
from handlers.usecases.reports import ReportDraft, act_on_report, submit_report
from storage.models import Commitment, OutboxMessage, Person, Report
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hh: int = 9, mm: int = 0) -> datetime:
    """A local Shanghai wall-clock time as the aware UTC instant the clock gives."""
    return datetime.combine(day, time(hh, mm), tzinfo=SHANGHAI).astimezone(UTC)


async def run_sweep(core: Core, instant: datetime) -> SweepReport:
    assert isinstance(core.clock, FixedClock)
    core.clock.instant = instant
    return await sweep(core)


async def bind_people(core: Core, world: World, staff: int = 1) -> dict[str, int]:
    """Bind the world's people to chats (only reachable people get digests)."""
    now = core.clock.now()
    ids: dict[str, int] = {}
    async with core.sessions() as session, session.begin():
        for name, (_, code) in (
            ("province", world.province_supervisor),
            ("lead", world.city_supervisor),
            ("officer", world.officer),
            ("other", world.other_officer),
        ):
            ids[name] = (await bind(session, "test", name, name, code, name, now)).id
        for n in range(staff):
            person = await bind(
                session, "test", f"staff{n}", f"staff{n}", world.enterprise[1], f"员工{n}", now
            )
            ids[f"staff{n}"] = person.id
        rival = await bind(session, "test", "rival", "rival", world.other_enterprise[1], "R", now)
        ids["rival"] = rival.id
    return ids


async def outbox(core: Core, kind: str | None = None) -> list[OutboxMessage]:
    async with core.sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(await session.scalars(query))


async def digests_for(core: Core, person_id: int) -> list[Reply]:
    return [
        Reply.from_json(m.message) for m in await outbox(core, "digest") if m.person_id == person_id
    ]


async def set_due(core: Core, commitment_id: int, due_on: date) -> None:
    async with core.sessions() as session, session.begin():
        commitment = await session.get(Commitment, commitment_id)
        assert commitment is not None
        commitment.due_on = due_on


class TestWorkingDays:
    async def test_saturday_sends_nothing(self, core: Core, world: World) -> None:
        await bind_people(core, world)
        report = await run_sweep(core, at(date(2026, 12, 5)))
        assert not report.working_day
        assert await outbox(core, "digest") == []
        assert not await swept_on(core, date(2026, 12, 5))

    async def test_national_day_week_and_its_adjusted_working_day(
        self, core: Core, world: World
    ) -> None:
        ids = await bind_people(core, world)
        await set_due(core, world.bureau_commitment, date(2026, 10, 9))
        await set_due(core, world.enterprise_commitment, date(2026, 10, 12))
        for day in range(1, 8):  # 2026-10-01..07: the National Day holiday
            assert not (await run_sweep(core, at(date(2026, 10, day)))).working_day
        assert await outbox(core, "digest") == []

        thursday = await run_sweep(core, at(date(2026, 10, 8)))
        assert thursday.working_day and thursday.digests >= 1
        saturday = await run_sweep(core, at(date(2026, 10, 10)))  # 调休: a working Saturday
        assert saturday.working_day and saturday.digests >= 1
        assert not (await run_sweep(core, at(date(2026, 10, 11)))).working_day
        officer_digests = await digests_for(core, ids["officer"])
        assert [d.title for d in officer_digests] == [
            "2026-10-08 待办提醒",
            "2026-10-10 待办提醒",
        ]
        # On the working Saturday the bureau's commitment (due Friday) is 1 day overdue.
        assert "已逾期1天" in officer_digests[1].text
        staff = await digests_for(core, ids["staff0"])
        assert [d.title for d in staff] == ["2026-10-10 待办提醒"]  # due 10-12: 2 days ahead

    async def test_adjusted_working_sunday_in_september(self, core: Core, world: World) -> None:
        ids = await bind_people(core, world)
        await set_due(core, world.bureau_commitment, date(2026, 9, 22))
        report = await run_sweep(core, at(date(2026, 9, 20)))
        assert report.working_day
        assert len(await digests_for(core, ids["officer"])) == 1

    async def test_a_normal_tuesday(self, core: Core, world: World) -> None:
        ids = await bind_people(core, world, staff=2)
        tuesday = date(2026, 12, 1)
        async with core.sessions() as session, session.begin():
            now = core.clock.now()
            for text, due in (
                ("较早逾期", tuesday - timedelta(days=4)),
                ("今天到期", tuesday),
                ("远期事项", tuesday + timedelta(days=20)),
            ):
                await add_commitment(session, world.enterprise[0], Party.BUREAU, text, due, now)
        report = await run_sweep(core, at(tuesday))
        assert report.working_day
        assert await swept_on(core, tuesday)
        (digest,) = await digests_for(core, ids["officer"])
        lines = digest.text.splitlines()
        # Overdue first, oldest first with days overdue; the enterprise's late one too.
        overdue = [line for line in lines if line.startswith("·") and "已逾期" in line]
        assert "较早逾期" in overdue[0] and "已逾期4天" in overdue[0]
        assert "建立追溯台账" in overdue[1] and "已逾期2天" in overdue[1]
        soon = lines[lines.index("【3天内到期】") + 1 :]
        assert "今天到期" in soon[0] and "上门校准量具" in soon[1]
        assert "远期事项" not in digest.text
        payloads = [b.payload for row in digest.buttons for b in row]
        assert f"cm:agr:{world.enterprise[0]}" in payloads  # the enterprise's commitment
        assert f"cm:done:{world.bureau_commitment}" in payloads
        # Every bound staff member of the enterprise gets the enterprise's commitments only.
        for staff in ("staff0", "staff1"):
            (their,) = await digests_for(core, ids[staff])
            assert "建立追溯台账" in their.text and "上门校准量具" not in their.text
            assert [b.payload for row in their.buttons for b in row] == [
                f"cm:done:{world.enterprise_commitment}"
            ]
        # Nothing to say → no message: the other city's people have no due commitments.
        assert await digests_for(core, ids["other"]) == []
        assert await digests_for(core, ids["rival"]) == []
        assert await digests_for(core, ids["lead"]) == []

    async def test_a_repeated_sweep_sends_no_second_digest(self, core: Core, world: World) -> None:
        await bind_people(core, world)
        first = await run_sweep(core, at(date(2026, 12, 1)))
        second = await run_sweep(core, at(date(2026, 12, 1), 15))
        assert first.digests == 2 and second.digests == 0
        assert len(await outbox(core, "digest")) == 2

    async def test_an_undelivered_digest_is_replaced_by_the_next_days(
        self, core: Core, world: World
    ) -> None:
        ids = await bind_people(core, world)
        await run_sweep(core, at(date(2026, 12, 1)))
        await run_sweep(core, at(date(2026, 12, 2)))
        mine = [m for m in await outbox(core, "digest") if m.person_id == ids["officer"]]
        assert [(m.dedupe_key.split(":")[-1], m.status) for m in mine] == [
            ("2026-12-01", "superseded"),
            ("2026-12-02", "pending"),
        ]

    async def test_two_instances_sweeping_at_once_queue_one_digest_each(
        self, core: Core, world: World
    ) -> None:
        await bind_people(core, world)
        core.clock.instant = at(date(2026, 12, 1))  # type: ignore[attr-defined]
        reports = await asyncio.gather(sweep(core), sweep(core))
        assert sum(r.digests for r in reports) == 2
        assert len(await outbox(core, "digest")) == 2

    async def test_unbound_people_get_no_digest(self, core: Core, world: World) -> None:
        await run_sweep(core, at(date(2026, 12, 1)))
        assert await outbox(core, "digest") == []


class TestDayBoundaries:
    """Due dates are local dates in Asia/Shanghai; 23:59 and 00:01 are different days."""

    async def test_due_soon_starts_three_days_ahead(self, core: Core, world: World) -> None:
        ids = await bind_people(core, world)
        await set_due(core, world.bureau_commitment, date(2026, 12, 4))
        await set_due(core, world.enterprise_commitment, date(2027, 1, 29))
        # Monday 23:59: Friday is 4 days ahead.
        assert (await run_sweep(core, at(date(2026, 11, 30), 23, 59))).digests == 0
        # Tuesday 00:01 (still Monday 16:01 in UTC): 3 days ahead.
        await run_sweep(core, at(date(2026, 12, 1), 0, 1))
        (digest,) = await digests_for(core, ids["officer"])
        assert "上门校准量具" in digest.text and "3天后到期" in digest.text

    async def test_overdue_starts_after_midnight_local(self, core: Core, world: World) -> None:
        ids = await bind_people(core, world)
        await set_due(core, world.bureau_commitment, date(2026, 12, 1))
        await set_due(core, world.enterprise_commitment, date(2027, 1, 29))
        await run_sweep(core, at(date(2026, 12, 1), 23, 59))
        await run_sweep(core, at(date(2026, 12, 2), 0, 1))
        before, after = await digests_for(core, ids["officer"])
        assert "今天到期" in before.text and "已逾期" not in before.text
        assert "已逾期1天" in after.text and "【3天内到期】" not in after.text


class TestEscalation:
    async def test_sixth_overdue_working_day_escalates_once(self, core: Core, world: World) -> None:
        ids = await bind_people(core, world)
        due = date(2026, 12, 1)  # Tuesday
        await set_due(core, world.enterprise_commitment, due)
        await set_due(core, world.bureau_commitment, date(2027, 1, 29))
        fifth = core.calendar.add_working_days(due, 5)  # Tue 12-08
        sixth = core.calendar.add_working_days(due, 6)  # Wed 12-09
        seventh = core.calendar.add_working_days(due, 7)
        assert (await run_sweep(core, at(fifth))).escalations == 0
        assert (await run_sweep(core, at(sixth))).escalations == 1
        assert (await run_sweep(core, at(seventh))).escalations == 0

        (to_lead,) = await outbox(core, "escalation")
        assert to_lead.person_id == ids["lead"] and to_lead.urgent  # the city's supervisor
        text = Reply.from_json(to_lead.message).text
        assert "王丽" in text and "建立追溯台账" in text and "已逾期8天" in text  # Tue → Wed+1w
        (told,) = await outbox(core, "escalated")
        assert told.person_id == ids["officer"] and not told.urgent
        async with core.sessions() as session:
            commitment = await session.get(Commitment, world.enterprise_commitment)
            assert commitment is not None and commitment.escalated_at == at(sixth)

    async def test_city_without_supervisor_goes_to_the_province(
        self, core: Core, world: World
    ) -> None:
        ids = await bind_people(core, world)
        now = core.clock.now()
        async with core.sessions() as session, session.begin():
            late = await add_commitment(
                session, world.other_enterprise[0], Party.BUREAU, "送检", date(2026, 11, 2), now
            )
        await run_sweep(core, at(date(2026, 12, 1)))
        (escalation,) = [
            m
            for m in await outbox(core, "escalation")
            if f"#{late.id} " in Reply.from_json(m.message).text
        ]
        assert escalation.person_id == ids["province"]
        assert "李强" in Reply.from_json(escalation.message).text

    async def test_report_without_first_response_escalates_once(
        self, core: Core, world: World
    ) -> None:
        ids = await bind_people(core, world)
        await set_due(core, world.enterprise_commitment, date(2027, 1, 29))
        async with core.sessions() as session, session.begin():
            staff = await session.get(Person, ids["staff0"])
            assert staff is not None
            draft = ReportDraft(["met"], "量具", "校准不准")
            report = await submit_report(session, actor_of(staff), draft, 2026, core.clock.now())
        # Submitted Monday 11-30: 2 working days to accept (Tue, Wed); Thursday escalates.
        assert (await run_sweep(core, at(date(2026, 12, 2)))).escalations == 0
        officer_digest = (await digests_for(core, ids["officer"]))[0]
        assert report.reference in officer_digest.text and "已等待" in officer_digest.text
        assert f"rep:view:{report.id}" in [b.payload for r in officer_digest.buttons for b in r]
        assert (await run_sweep(core, at(date(2026, 12, 3)))).escalations == 1
        assert (await run_sweep(core, at(date(2026, 12, 4)))).escalations == 0
        (escalation,) = await outbox(core, "escalation")
        assert escalation.person_id == ids["lead"] and escalation.urgent
        assert "王丽" in Reply.from_json(escalation.message).text
        (told,) = await outbox(core, "escalated")
        assert told.person_id == ids["officer"]
        async with core.sessions() as session:
            stored = await session.get(Report, report.id)
            assert stored is not None and stored.response_escalated_at == at(date(2026, 12, 3))

    async def test_an_accepted_report_is_not_escalated(self, core: Core, world: World) -> None:
        ids = await bind_people(core, world)
        async with core.sessions() as session, session.begin():
            staff = await session.get(Person, ids["staff0"])
            officer = await session.get(Person, ids["officer"])
            assert staff is not None and officer is not None
            draft = ReportDraft(["met"], "量具", "校准不准")
            report = await submit_report(session, actor_of(staff), draft, 2026, core.clock.now())
            await act_on_report(
                session, actor_of(officer), report.id, ReportAction.ACCEPT, core.clock.now()
            )
        await set_due(core, world.bureau_commitment, date(2027, 1, 29))
        await set_due(core, world.enterprise_commitment, date(2027, 1, 29))
        assert (await run_sweep(core, at(date(2026, 12, 10)))).escalations == 0
        assert [
            m
            for m in await outbox(core, "escalation")
            if report.reference in (Reply.from_json(m.message).title or "")
        ] == []


class TestFollowUp:
    async def test_nudge_after_three_working_days_close_after_ten(
        self, core: Core, world: World
    ) -> None:
        ids = await bind_people(core, world, staff=2)
        await set_due(core, world.enterprise_commitment, date(2027, 1, 29))
        async with core.sessions() as session, session.begin():
            staff = await session.get(Person, ids["staff0"])
            officer = await session.get(Person, ids["officer"])
            assert staff is not None and officer is not None
            now = core.clock.now()
            draft = ReportDraft(["std"], "产品", "问题")
            report = await submit_report(session, actor_of(staff), draft, 2026, now)
            for action in (ReportAction.ACCEPT, ReportAction.RESOLVE):
                await act_on_report(session, actor_of(officer), report.id, action, now)
        resolved = date(2026, 11, 30)
        day2 = core.calendar.add_working_days(resolved, 2)
        day3 = core.calendar.add_working_days(resolved, 3)
        day9 = core.calendar.add_working_days(resolved, 9)
        day10 = core.calendar.add_working_days(resolved, 10)
        assert (await run_sweep(core, at(day2))).nudges == 0
        assert (await run_sweep(core, at(day3))).nudges == 1
        assert (await run_sweep(core, at(day3 + timedelta(days=1)))).nudges == 0
        nine = await run_sweep(core, at(day9))
        assert nine.nudges == 0 and nine.closed_unconfirmed == 0
        assert (await run_sweep(core, at(day10))).closed_unconfirmed == 1
        assert (await run_sweep(core, at(day10 + timedelta(days=1)))).closed_unconfirmed == 0
        nudges = await outbox(core, "follow_up")
        assert sorted(m.person_id for m in nudges) == sorted([ids["staff0"], ids["staff1"]])
        payloads = [b.payload for r in Reply.from_json(nudges[0].message).buttons for b in r]
        assert f"rep:ok:{report.id}" in payloads and f"rep:no:{report.id}" in payloads
        async with core.sessions() as session:
            stored = await session.get(Report, report.id)
            assert stored is not None and stored.status is ReportStatus.CLOSED_UNCONFIRMED
            closed = await session.scalar(
                select(func.count())
                .select_from(Report)
                .where(Report.status == ReportStatus.CLOSED_UNCONFIRMED)
            )
            assert closed == 1


async def test_supervisor_sees_other_supervisors_unaffected(core: Core, world: World) -> None:
    """A second supervisor in the city also receives the escalation (each once)."""
    ids = await bind_people(core, world)
    async with core.sessions() as session, session.begin():
        second, code = await add_officer(
            session, "杭州副领导", "杭州市", Role.SUPERVISOR, core.clock.now()
        )
        await bind(session, "test", "lead2", "lead2", code, "lead2", core.clock.now())
    await set_due(core, world.enterprise_commitment, date(2026, 11, 2))
    await run_sweep(core, at(date(2026, 12, 1)))
    await run_sweep(core, at(date(2026, 12, 2)))
    assert sorted(m.person_id for m in await outbox(core, "escalation")) == sorted(
        [ids["lead"], second.id]
    )


async def test_a_year_the_calendar_does_not_cover_is_warned_about(
    core: Core, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Late December looks 3 days into a year chinese-calendar may not know yet."""
    caplog.set_level(logging.WARNING, logger="domain.calendar")
    await bind_people(core, world)
    await run_sweep(core, at(date(2026, 12, 30)))
    await run_sweep(core, at(date(2026, 12, 31)))
    if is_covered(2027):
        pytest.skip("the installed chinese-calendar already covers 2027")
    (warning,) = [r for r in caplog.records if r.name == "domain.calendar"]
    assert "2027" in warning.getMessage() and "chinese-calendar" in warning.getMessage()
