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

from sqlalchemy import ColumnElement, Select, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from domain.calendar import local_date, local_day_bounds
from domain.commitments import CommitmentStatus
from domain.reminders import (
    DUE_SOON_DAYS,
    FOLLOW_UP_NUDGE_WORKING_DAYS,
    CommitmentItem,
    EscalatedItem,
    FollowUp,
    WaitingReport,
    commitment_needs_escalation,
    digest_dedupe_key,
    escalation_batch_key,
    escalation_candidates_due_before,
    follow_up_after_resolution,
    missing_holiday_year,
    oldest_first,
    plan_digest,
    report_needs_escalation,
    summarise_escalations,
)
from domain.reports import AWAITING_OFFICER, ReportAction, ReportStatus
from domain.roles import Party, Role
from handlers import reminder_views
from handlers.core import Core
from handlers.usecases.agreements import remind_agreements
from handlers.usecases.calendar import refresh_calendar
from handlers.usecases.common_problems import propose_clusters
from handlers.usecases.consultations import remind_consultations_of_the_day
from handlers.usecases.escalations import commitment_items, report_items
from handlers.usecases.notify import (
    audit,
    audit_row,
    language_of,
    notify,
    staff_of,
    supervisors_for,
)
from handlers.usecases.register_reminders import sweep_registers
from handlers.usecases.reports import act_on_report
from handlers.usecases.research import research_target_dates
from handlers.usecases.thread import remind_pending_questions
from storage.bulk import insert_rows
from storage.db import insert_for
from storage.models import (
    AuditEntry,
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
# Ids per UPDATE … IN (…): well below SQLite's and asyncpg's parameter limits.
_CHUNK = 500


@dataclass
class SweepReport:
    """What one sweep did, for the log line and `qabot remind --json`."""

    day: date
    working_day: bool
    digests: int = 0
    escalations: int = 0
    nudges: int = 0
    closed_unconfirmed: int = 0
    agreement_notices: int = 0
    registers: int = 0
    clusters: int = 0

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
    # The bureau may have changed its calendar from the command line since the last sweep.
    await refresh_calendar(core)
    # The calendar logs a warning once per year it has no holiday data for.
    core.calendar.is_working_day(today + timedelta(days=DUE_SOON_DAYS))
    report = SweepReport(day=today, working_day=core.calendar.is_working_day(today))
    if not report.working_day:
        log.info("reminder sweep %s", report.summary())
        return report
    report.escalations = await _escalate_all(core, today, now)
    await _follow_up_resolved(core, today, now, report)
    report.agreement_notices = await remind_agreements(core, today, now)
    report.registers = await sweep_registers(core, today, now)
    report.clusters = await propose_clusters(core, today, now)
    await remind_consultations_of_the_day(core, today, now)
    await research_target_dates(core, today, now)
    await remind_pending_questions(core, today, now)
    async with core.sessions() as session, session.begin():
        # An earlier day's digest still waiting (its person unreachable until now) would
        # arrive next to today's with stale content: today's replaces it.
        day_start, _ = local_day_bounds(today, core.tz)
        await supersede(session, "digest", day_start, f"replaced by the digest of {today}")
        report.digests = await _queue_digests(
            session, today, now, missing_holiday_year(core.calendar, today)
        )
        await _record_run(session, today, now)
    log.info("reminder sweep %s", report.summary())
    return report


async def swept_on(core: Core, day: date) -> bool:
    """Tell whether the sweep of local day `day` has already run."""
    async with core.sessions() as session:
        return await session.get(SweepRun, day) is not None


async def _record_run(session: AsyncSession, day: date, now: datetime) -> None:
    await session.execute(
        insert_for(session)(SweepRun)
        .values(day=day, ran_at=now)
        .on_conflict_do_update(index_elements=["day"], set_={"ran_at": now})
    )


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


# Each kind of escalation: find what is due today, mark it escalated (once ever, guarded in
# the UPDATE so a second instance cannot mark it too) and return what it marked. The batches
# to supervisors and officers are built from all kinds together.
async def _escalate_overdue_commitments(
    core: Core, session: AsyncSession, today: date, now: datetime
) -> list[EscalatedItem]:
    """Open commitments overdue for more than 5 working days."""
    candidates = await commitment_items(
        session,
        core,
        today,
        Commitment.status == CommitmentStatus.OPEN,
        Commitment.due_on < escalation_candidates_due_before(today),
        Commitment.escalated_at.is_(None),
    )
    due = {
        item.subject_id: item
        for item in candidates
        if commitment_needs_escalation(
            core.calendar, CommitmentStatus.OPEN, item.since, today, False
        )
    }
    marked = await _mark_escalated(
        session,
        Commitment,
        "escalated_at",
        list(due),
        now,
        Commitment.status == CommitmentStatus.OPEN,
    )
    items = [due[cid] for cid in marked]
    await insert_rows(
        session,
        AuditEntry,
        [
            audit_row(
                now,
                "commitment.escalate",
                "commitment",
                i.subject_id,
                overdue_working_days=i.working_days,
            )
            for i in items
        ],
    )
    return items


async def _escalate_unanswered_reports(
    core: Core, session: AsyncSession, today: date, now: datetime
) -> list[EscalatedItem]:
    """Reports not accepted within the first-response time."""
    first_response = core.first_response_working_days
    # More than N working days since submission implies more than N calendar days.
    submitted_before, _ = local_day_bounds(today - timedelta(days=first_response), core.tz)
    candidates = await report_items(
        session,
        core,
        today,
        Report.status == ReportStatus.SUBMITTED,
        Report.submitted_at < submitted_before,
        Report.response_escalated_at.is_(None),
    )
    due = {
        item.subject_id: item
        for item in candidates
        if report_needs_escalation(
            core.calendar, ReportStatus.SUBMITTED, item.since, today, first_response, False
        )
    }
    marked = await _mark_escalated(
        session,
        Report,
        "response_escalated_at",
        list(due),
        now,
        Report.status == ReportStatus.SUBMITTED,
    )
    items = [due[rid] for rid in marked]
    await insert_rows(
        session,
        ReportEvent,
        [
            {
                "report_id": i.subject_id,
                "at": now,
                "actor_id": None,
                "kind": "response_escalated",
                "detail": {"working_days": i.working_days},
            }
            for i in items
        ],
    )
    await insert_rows(
        session,
        AuditEntry,
        [
            audit_row(
                now, "report.response_escalate", "report", i.subject_id, working_days=i.working_days
            )
            for i in items
        ],
    )
    return items


ESCALATIONS: tuple[
    Callable[[Core, AsyncSession, date, datetime], Awaitable[list[EscalatedItem]]], ...
] = (_escalate_overdue_commitments, _escalate_unanswered_reports)


async def _escalate_all(core: Core, today: date, now: datetime) -> int:
    """Escalate every kind of item in one transaction: marks and messages commit together."""
    async with core.sessions() as session, session.begin():
        items: list[EscalatedItem] = []
        for escalate in ESCALATIONS:
            items += await escalate(core, session, today, now)
        if items:
            await _send_escalations(session, items, today, now)
    return len(items)


async def _send_escalations(
    session: AsyncSession, items: list[EscalatedItem], today: date, now: datetime
) -> None:
    """One message per supervisor (urgent) and one notice per officer, never one per item."""
    by_supervisor: dict[int, list[EscalatedItem]] = defaultdict(list)
    supervisors: dict[int, Person] = {}
    by_bureau: dict[int, list[EscalatedItem]] = defaultdict(list)
    for item in items:
        by_bureau[item.bureau_id].append(item)
    for bureau_id, bureau_items in by_bureau.items():
        for supervisor in await supervisors_for(session, bureau_id):
            supervisors[supervisor.id] = supervisor
            by_supervisor[supervisor.id] += bureau_items
    by_officer: dict[int, list[EscalatedItem]] = defaultdict(list)
    for item in items:
        if item.officer_id is not None:
            by_officer[item.officer_id].append(item)
    officers = (
        {
            p.id: p
            for p in await session.scalars(
                select(Person).where(
                    Person.id.in_(list(by_officer)), Person.deactivated_at.is_(None)
                )
            )
        }
        if by_officer
        else {}
    )
    notes: list[Notification] = []
    for person_id, batch in by_supervisor.items():
        supervisor = supervisors[person_id]
        reply = reminder_views.escalation_summary(
            language_of(supervisor), summarise_escalations(batch), today
        )
        key = escalation_batch_key(today, batch)
        notes.append(
            Notification(person_id, "escalation", f"{person_id}:{key}", reply.to_json(), True)
        )
    for person_id, batch in by_officer.items():
        officer = officers.get(person_id)
        if officer is None:
            continue
        ordered = oldest_first(batch)
        reply = reminder_views.escalated_notice(language_of(officer), ordered, today)
        key = escalation_batch_key(today, batch)
        notes.append(Notification(person_id, "escalated", f"{person_id}:{key}", reply.to_json()))
    await enqueue_many(session, notes, now)


async def _mark_escalated(
    session: AsyncSession,
    model: type[Commitment] | type[Report],
    column: str,
    ids: list[int],
    now: datetime,
    still_due: ColumnElement[bool],
) -> list[int]:
    """Set `column` where it is still empty; return the ids this transaction marked."""
    marked: list[int] = []
    mark = getattr(model, column)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        result = await session.execute(
            update(model)
            .where(model.id.in_(chunk), mark.is_(None), still_due)
            # Bump the version like an ORM change would, so a turn holding the row retries.
            .values({mark: now, model.version: model.version + 1})
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
        marked += [row_id for (row_id,) in result]
    return sorted(marked)


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


async def _queue_digests(
    session: AsyncSession, today: date, now: datetime, missing_year: int | None = None
) -> int:
    """One digest per reachable person with something to say; a second run queues nothing.
    Admins are told in theirs when next year's holidays are missing (`missing_year`)."""
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
    admins: set[int] = set()
    if missing_year is not None:
        for admin in await _reachable(session, Person.role == Role.ADMIN):
            admins.add(admin.id)
            if admin.id not in officer_ids:
                recipients.append(admin)
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
            today,
            officer_items.get(person.id, []),
            officer_reports.get(person.id, []),
            missing_year if person.id in admins else None,
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
    rows = await session.scalars(
        select(Person)
        .where(*where, reachable, Person.deactivated_at.is_(None))  # type: ignore[arg-type]
        .order_by(Person.id)
    )  # type: ignore[arg-type]
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
