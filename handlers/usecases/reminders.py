"""The reminder sweep (SPEC §4): escalations, the follow-up after "resolved", and one digest
per person per working day, all queued in the outbox.

Safe to repeat and to run on two instances at once: every message has a dedupe key
(person, kind, subject, day), and escalations are also marked on their subject.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Select, exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from domain.calendar import local_date, local_day_bounds
from domain.commitments import CommitmentStatus
from domain.reminders import (
    DUE_SOON_DAYS,
    FOLLOW_UP_NUDGE_WORKING_DAYS,
    CommitmentItem,
    FollowUp,
    WaitingReport,
    commitment_needs_escalation,
    digest_dedupe_key,
    escalation_candidates_due_before,
    follow_up_after_resolution,
    overdue_working_days,
    plan_digest,
    report_needs_escalation,
)
from domain.reports import AWAITING_OFFICER, ReportAction, ReportStatus
from domain.roles import Party, Role
from handlers import reminder_views
from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases.consultations import remind_consultations_of_the_day
from handlers.usecases.notify import audit, language_of, notify, staff_of, supervisors_for
from handlers.usecases.reports import act_on_report
from handlers.usecases.research import research_target_dates
from handlers.usecases.thread import remind_pending_questions
from storage.models import (
    ChannelIdentity,
    Commitment,
    Enterprise,
    Person,
    Report,
    ReportEvent,
    SweepRun,
)
from storage.outbox import Notification, enqueue_many, supersede

log = logging.getLogger(__name__)
Outcome = TypeVar("Outcome")


@dataclass
class SweepReport:
    """What one sweep did, for the log line and `qabot remind --json`."""

    day: date
    working_day: bool
    digests: int = 0
    escalations: int = 0
    nudges: int = 0
    closed_unconfirmed: int = 0

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return data

    def summary(self) -> str:
        if not self.working_day:
            return f"{self.day.isoformat()}: not a working day, nothing swept"
        return (
            f"{self.day.isoformat()}: {self.digests} digests, {self.escalations} escalations, "
            f"{self.nudges} follow-up nudges, {self.closed_unconfirmed} closed unconfirmed"
        )


async def sweep(core: Core, now: datetime | None = None) -> SweepReport:
    """Run the day's reminders as of `now` (default: the core's clock) and record the run."""
    now = now or core.clock.now()
    today = local_date(now, core.tz)
    # The calendar logs a warning once per year it has no holiday data for.
    core.calendar.is_working_day(today + timedelta(days=DUE_SOON_DAYS))
    report = SweepReport(day=today, working_day=core.calendar.is_working_day(today))
    if not report.working_day:
        log.info("reminder sweep %s", report.summary())
        return report
    report.escalations += await _escalate_commitments(core, today, now)
    report.escalations += await _escalate_reports(core, today, now)
    await _follow_up_resolved(core, today, now, report)
    await remind_consultations_of_the_day(core, today, now)
    await research_target_dates(core, today, now)
    await remind_pending_questions(core, today, now)
    async with core.sessions() as session, session.begin():
        # An earlier day's digest still waiting (its person unreachable until now) would
        # arrive next to today's with stale content: today's replaces it.
        day_start, _ = local_day_bounds(today, core.tz)
        await supersede(session, "digest", day_start, f"replaced by the digest of {today}")
        report.digests = await _queue_digests(session, today, now)
        await _record_run(session, today, now)
    log.info("reminder sweep %s", report.summary())
    return report


async def swept_on(core: Core, day: date) -> bool:
    """Tell whether the sweep of local day `day` has already run."""
    async with core.sessions() as session:
        return await session.get(SweepRun, day) is not None


async def _record_run(session: AsyncSession, day: date, now: datetime) -> None:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(SweepRun)
        .values(day=day, ran_at=now)
        .on_conflict_do_update(index_elements=["day"], set_={"ran_at": now})
    )


async def _officer_name(session: AsyncSession, enterprise: Enterprise) -> tuple[Person | None, str]:
    officer = await session.get(Person, enterprise.officer_id) if enterprise.officer_id else None
    return officer, officer.name if officer else "—"


# --- escalations -----------------------------------------------------------------------


async def _each_in_own_transaction(
    core: Core,
    candidates: Select[int],
    work: Callable[[AsyncSession, int], Awaitable[Outcome]],
    what: str,
) -> list[Outcome]:
    """Run `work` for each candidate id in a transaction of its own, so a concurrent change
    (another instance got there first) costs only that one; its messages carry the same
    dedupe keys, so nothing is sent twice."""
    async with core.sessions() as session:
        ids = list(await session.scalars(candidates))
    outcomes = []
    for row_id in ids:
        try:
            async with core.sessions() as session, session.begin():
                outcomes.append(await work(session, row_id))
        except StaleDataError:
            log.info("%s %s changed during the sweep; skipped", what, row_id)
    return outcomes


async def _escalate_commitments(core: Core, today: date, now: datetime) -> int:
    """Tell the scope's supervisors (urgent) and the officer, once per commitment."""
    candidates = select(Commitment.id).where(
        Commitment.status == CommitmentStatus.OPEN,
        Commitment.due_on < escalation_candidates_due_before(today),
        Commitment.escalated_at.is_(None),
    )
    escalated = await _each_in_own_transaction(
        core,
        candidates,
        lambda session, commitment_id: _escalate_commitment(
            core, session, commitment_id, today, now
        ),
        "commitment",
    )
    return sum(escalated)


async def _escalate(
    session: AsyncSession,
    enterprise: Enterprise,
    officer: Person | None,
    key: str,
    for_supervisors: Callable[[str], Reply],
    for_officer: Callable[[str], Reply],
    now: datetime,
) -> None:
    """The scope's supervisors are told at any hour; the officer learns it was escalated."""
    for supervisor in await supervisors_for(session, enterprise.bureau_id):
        await notify(session, supervisor, "escalation", key, for_supervisors, now, urgent=True)
    if officer is not None:
        await notify(session, officer, "escalated", key, for_officer, now)


async def _escalate_commitment(
    core: Core, session: AsyncSession, commitment_id: int, today: date, now: datetime
) -> int:
    commitment = await session.get(Commitment, commitment_id)
    if commitment is None or not commitment_needs_escalation(
        core.calendar,
        commitment.status,
        commitment.due_on,
        today,
        commitment.escalated_at is not None,
    ):
        return 0
    enterprise = await session.get(Enterprise, commitment.enterprise_id)
    if enterprise is None:
        return 0
    days = overdue_working_days(core.calendar, commitment.due_on, today)
    officer, officer_name = await _officer_name(session, enterprise)
    commitment.escalated_at = now
    await _escalate(
        session,
        enterprise,
        officer,
        f"escalation:commitment:{commitment.id}",
        lambda lang: reminder_views.commitment_escalation(
            lang, commitment, enterprise, officer_name, days
        ),
        lambda lang: reminder_views.commitment_escalated_notice(lang, commitment, enterprise, days),
        now,
    )
    audit(
        session,
        None,
        "commitment.escalate",
        "commitment",
        commitment.id,
        now,
        overdue_working_days=days,
    )
    return 1


async def _escalate_reports(core: Core, today: date, now: datetime) -> int:
    """Reports not accepted within the first-response time go to the supervisors, once."""
    first_response = core.first_response_working_days
    # More than N working days since submission implies more than N calendar days.
    submitted_before, _ = local_day_bounds(today - timedelta(days=first_response), core.tz)
    candidates = select(Report.id).where(
        Report.status == ReportStatus.SUBMITTED,
        Report.submitted_at < submitted_before,
        Report.response_escalated_at.is_(None),
    )
    escalated = await _each_in_own_transaction(
        core,
        candidates,
        lambda session, report_id: _escalate_report(core, session, report_id, today, now),
        "report",
    )
    return sum(escalated)


async def _escalate_report(
    core: Core, session: AsyncSession, report_id: int, today: date, now: datetime
) -> int:
    report = await session.get(Report, report_id)
    if report is None or not report_needs_escalation(
        core.calendar,
        report.status,
        local_date(report.submitted_at, core.tz),
        today,
        core.first_response_working_days,
        report.response_escalated_at is not None,
    ):
        return 0
    enterprise = await session.get(Enterprise, report.enterprise_id)
    if enterprise is None:
        return 0
    days = core.calendar.working_days_between(local_date(report.submitted_at, core.tz), today)
    officer, officer_name = await _officer_name(session, enterprise)
    report.response_escalated_at = now
    session.add(
        ReportEvent(
            report_id=report.id,
            at=now,
            actor_id=None,
            kind="response_escalated",
            detail={"working_days": days},
        )
    )
    first_response = core.first_response_working_days
    await _escalate(
        session,
        enterprise,
        officer,
        f"escalation:report:{report.id}",
        lambda lang: reminder_views.report_escalation(
            lang, report, enterprise, officer_name, days, core.tz
        ),
        lambda lang: reminder_views.report_escalated_notice(
            lang, report, enterprise, first_response
        ),
        now,
    )
    audit(session, None, "report.response_escalate", "report", report.id, now, working_days=days)
    return 1


# --- follow-up after "resolved" ----------------------------------------------------------


async def _follow_up_resolved(core: Core, today: date, now: datetime, report: SweepReport) -> None:
    # At least 3 working days since the local day of resolution: resolved on or before
    # today - 3 (calendar), i.e. before the end of that day.
    _, resolved_before = local_day_bounds(
        today - timedelta(days=FOLLOW_UP_NUDGE_WORKING_DAYS), core.tz
    )
    candidates = select(Report.id).where(
        Report.status == ReportStatus.RESOLVED, Report.resolved_at < resolved_before
    )
    outcomes = await _each_in_own_transaction(
        core,
        candidates,
        lambda session, report_id: _follow_up_one(core, session, report_id, today, now),
        "report",
    )
    report.nudges += outcomes.count(FollowUp.NUDGE)
    report.closed_unconfirmed += outcomes.count(FollowUp.CLOSE_UNCONFIRMED)


async def _follow_up_one(
    core: Core, session: AsyncSession, report_id: int, today: date, now: datetime
) -> FollowUp:
    found = await session.get(Report, report_id)
    if found is None or found.resolved_at is None:
        return FollowUp.NOTHING
    resolved_on = local_date(found.resolved_at, core.tz)
    outcome = follow_up_after_resolution(
        core.calendar, found.status, resolved_on, today, found.follow_up_nudged_at is not None
    )
    if outcome is FollowUp.CLOSE_UNCONFIRMED:
        # The lifecycle action records the timeline, audit and tells the enterprise.
        await act_on_report(session, None, found.id, ReportAction.CLOSE_UNCONFIRMED, now)
    elif outcome is FollowUp.NUDGE:
        days = core.calendar.working_days_between(resolved_on, today)
        found.follow_up_nudged_at = now
        session.add(ReportEvent(report_id=found.id, at=now, actor_id=None, kind="follow_up_nudged"))
        for person in await staff_of(session, found.enterprise_id):
            await notify(
                session,
                person,
                "follow_up",
                f"follow_up:report:{found.id}:resolved:{found.resolved_at.isoformat()}",
                lambda lang: reminder_views.follow_up_nudge(lang, found, days),
                now,
            )
        audit(session, None, "report.follow_up_nudge", "report", found.id, now)
    return outcome


# --- digests -----------------------------------------------------------------------------


async def _queue_digests(session: AsyncSession, today: date, now: datetime) -> int:
    """One digest per reachable person with something to say; a second run queues nothing."""
    horizon = today + timedelta(days=DUE_SOON_DAYS)
    rows = await session.execute(
        select(
            Commitment.id,
            Commitment.text,
            Commitment.party,
            Commitment.due_on,
            Commitment.enterprise_id,
            Enterprise.name,
            Enterprise.officer_id,
        )
        .join(Enterprise, Commitment.enterprise_id == Enterprise.id)
        .where(Commitment.status == CommitmentStatus.OPEN, Commitment.due_on <= horizon)
    )
    officer_items: dict[int, list[CommitmentItem]] = defaultdict(list)
    enterprise_items: dict[int, list[CommitmentItem]] = defaultdict(list)
    for cid, text, party, due_on, enterprise_id, name, officer_id in rows:
        item = CommitmentItem(cid, text, party, due_on, enterprise_id, name)
        if party is Party.ENTERPRISE:
            enterprise_items[enterprise_id].append(item)
            # The officer follows up the enterprise's side once it is late.
            if officer_id is not None and due_on < today:
                officer_items[officer_id].append(item)
        elif officer_id is not None:
            officer_items[officer_id].append(item)

    officer_reports = await _waiting_reports(session)

    officer_ids = set(officer_items) | set(officer_reports)
    staff_by_enterprise: dict[int, list[Person]] = defaultdict(list)
    recipients: list[Person] = []
    if officer_ids:
        recipients += await _reachable(session, Person.id.in_(officer_ids))
    if enterprise_items:
        for person in await _reachable(
            session,
            Person.enterprise_id.in_(list(enterprise_items)),
            Person.role == Role.STAFF,
        ):
            if person.enterprise_id is not None:
                staff_by_enterprise[person.enterprise_id].append(person)

    notes: list[Notification] = []
    key = digest_dedupe_key(today)
    for person in recipients:
        digest = plan_digest(
            today, officer_items.get(person.id, []), officer_reports.get(person.id, [])
        )
        if digest is not None:
            reply = reminder_views.digest_message(language_of(person), digest, Party.BUREAU, now)
            notes.append(Notification(person.id, "digest", f"{person.id}:{key}", reply.to_json()))
    for enterprise_id, staff in staff_by_enterprise.items():
        digest = plan_digest(today, enterprise_items[enterprise_id])
        if digest is None:
            continue
        rendered: dict[str, dict[str, object]] = {}
        for person in staff:
            lang = language_of(person)
            if lang not in rendered:
                rendered[lang] = reminder_views.digest_message(
                    lang, digest, Party.ENTERPRISE, now
                ).to_json()
            notes.append(Notification(person.id, "digest", f"{person.id}:{key}", rendered[lang]))
    return await enqueue_many(session, notes, now)


async def _reachable(session: AsyncSession, *where: object) -> list[Person]:
    """People matching `where` who have a channel that still accepts messages."""
    reachable = exists().where(
        ChannelIdentity.person_id == Person.id, ChannelIdentity.unreachable_since.is_(None)
    )
    rows = await session.scalars(select(Person).where(*where, reachable).order_by(Person.id))  # type: ignore[arg-type]
    return list(rows)


async def _waiting_reports(session: AsyncSession) -> dict[int, list[WaitingReport]]:
    """Open reports by their officer, waiting since their last timeline step."""
    # Correlated per open report, so only their events are read (index on report_id).
    last_step = (
        select(func.max(ReportEvent.at))
        .where(ReportEvent.report_id == Report.id)
        .correlate(Report)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Report.id,
            Report.reference,
            Report.status,
            Report.submitted_at,
            last_step,
            Enterprise.name,
            # The report's own officer: a transfer moves it to the colleague's digest.
            Report.officer_id,
        )
        .join(Enterprise, Report.enterprise_id == Enterprise.id)
        .where(
            Report.status.in_([s.value for s in AWAITING_OFFICER]),
            Report.officer_id.is_not(None),
        )
    )
    waiting: dict[int, list[WaitingReport]] = defaultdict(list)
    for rid, reference, status, submitted_at, last_at, name, officer_id in rows:
        if officer_id is None:  # excluded by the query; narrows the type
            continue
        since = _as_aware(last_at) or submitted_at
        waiting[officer_id].append(WaitingReport(rid, reference, status, name, since))
    return waiting


def _as_aware(value: datetime | None) -> datetime | None:
    """A max() over a UTC column comes back naive (or as text) on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
