"""Problem reports: submission, the lifecycle actions, and the lists people see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.areas import parse_areas
from domain.errors import DomainError, NotFound
from domain.events import ReportActed, ReportRated, ReportSubmitted
from domain.references import format_reference
from domain.reports import (
    AWAITING_OFFICER,
    RATINGS,
    ReportAction,
    ReportStatus,
    Urgency,
    check_handles,
    check_transition,
)
from domain.roles import Actor, Role, require_role
from handlers.notices import publish
from handlers.usecases.common_problems import with_similar_reports
from handlers.usecases.notify import audit
from handlers.usecases.scope import enterprises_covered, load_in_scope
from storage.db import dialect_of, per_dialect
from storage.models import Attachment, Enterprise, Person, Report, ReportCounter, ReportEvent

MAX_FILES = 10


@dataclass
class ReportDraft:
    """The answers collected by the /report conversation."""

    areas: list[str] = field(default_factory=list)
    product: str = ""
    description: str = ""
    attachment_ids: list[int] = field(default_factory=list)
    urgency: str = Urgency.NORMAL.value


async def next_reference(session: AsyncSession, year: int) -> tuple[int, str]:
    """Hand out the year's next number in one atomic statement (safe under concurrency)."""
    statement = _NEXT_NUMBER[dialect_of(session)]
    number = int((await session.execute(statement, {"year": year})).scalar_one())
    return number, format_reference(year, number)


# Built once per dialect, on the table (not through the ORM's bulk path): every submission.
_COUNTERS = cast(Table, ReportCounter.__table__)
_NEXT_NUMBER = per_dialect(
    lambda insert: insert(_COUNTERS)
    .values(year=bindparam("year"), last_number=1)
    .on_conflict_do_update(
        index_elements=["year"], set_={"last_number": _COUNTERS.c.last_number + 1}
    )
    .returning(_COUNTERS.c.last_number)
)


async def submit_report(
    session: AsyncSession, actor: Actor, draft: ReportDraft, local_year: int, now: datetime
) -> Report:
    """Store a new report and tell the enterprise's officer, in one transaction."""
    require_role(actor, Role.STAFF)
    enterprise = await session.get(Enterprise, actor.enterprise_id)
    if enterprise is None:
        raise NotFound()
    areas = [a.value for a in parse_areas(draft.areas)]
    if not areas:
        raise DomainError("report.areas_missing")
    if not draft.product.strip() or not draft.description.strip():
        raise DomainError("report.incomplete")
    _, reference = await next_reference(session, local_year)
    report = Report(
        reference=reference,
        enterprise_id=enterprise.id,
        reporter_id=actor.person_id,
        officer_id=enterprise.officer_id,
        areas=areas,
        product=draft.product,
        description=draft.description,
        urgency=Urgency(draft.urgency),
        status=ReportStatus.SUBMITTED,
        submitted_at=now,
    )
    session.add(report)
    await session.flush()
    if draft.attachment_ids:
        attachments = await session.scalars(
            select(Attachment).where(
                Attachment.id.in_(draft.attachment_ids),
                Attachment.uploaded_by_id == actor.person_id,
                Attachment.report_id.is_(None),
            )
        )
        for attachment in attachments:
            attachment.report_id = report.id
    event = record(session, report, actor.person_id, "submitted", now)
    audit(session, actor.person_id, "report.submit", "report", report.id, now, reference=reference)
    await session.flush()
    similar = await with_similar_reports(session, report, enterprise, now)
    await publish(
        session,
        ReportSubmitted(report.id, event.id, tuple(other.id for other, _ in similar)),
        now,
    )
    return report


def record(
    session: AsyncSession,
    report: Report,
    actor_id: int | None,
    kind: str,
    now: datetime,
    **detail: Any,
) -> ReportEvent:
    event = ReportEvent(report_id=report.id, at=now, actor_id=actor_id, kind=kind, detail=detail)
    session.add(event)
    return event


async def load_report(
    session: AsyncSession, actor: Actor | None, report_id: int
) -> tuple[Report, Enterprise]:
    """Load a report the actor may see; out of scope reads as not found, except to the
    officer who handed it over: they are told it is no longer theirs."""
    try:
        return await load_in_scope(session, actor, Report, report_id)
    except DomainError as refusal:
        officer = actor is not None and actor.role is Role.OFFICER
        if officer and await _handed_over_by(session, report_id, actor.person_id):  # type: ignore[union-attr]
            raise DomainError("report.not_yours") from None
        raise refusal


async def _handed_over_by(session: AsyncSession, report_id: int, officer_id: int) -> bool:
    transfers = await session.scalars(
        select(ReportEvent.detail).where(
            ReportEvent.report_id == report_id, ReportEvent.kind == "transfer"
        )
    )
    return any(detail.get("from_officer_id") == officer_id for detail in transfers)


async def check_may_act(
    session: AsyncSession, actor: Actor | None, report_id: int, action: ReportAction
) -> Report:
    """Refuse early (before asking for details) what act_on_report would refuse."""
    report, _ = await load_report(session, actor, report_id)
    check_transition(actor, report.status, action)
    if actor is not None and actor.is_bureau_side:
        check_handles(actor, report.officer_id)
    if (
        action is ReportAction.ESCALATE
        and report.research_escalated_at is not None
        and report.research_concluded_at is None
    ):
        raise DomainError("report.already_researching")
    return report


async def act_on_report(
    session: AsyncSession,
    actor: Actor | None,
    report_id: int,
    action: ReportAction,
    now: datetime,
    **detail: Any,
) -> Report:
    """Apply one lifecycle action (actor None: the system's sweeps) and tell the other side."""
    report = await check_may_act(session, actor, report_id, action)
    report.status = check_transition(actor, report.status, action)
    if actor is not None and detail.get("files"):
        detail["files"] = await claim_files(session, actor, report, detail["files"])
    _apply_details(report, action, now, detail)
    actor_id = actor.person_id if actor else None
    event = record(session, report, actor_id, action.value, now, **_jsonable(detail))
    audit(
        session, actor_id, f"report.{action.value}", "report", report.id, now, **_jsonable(detail)
    )
    await session.flush()
    acting = actor.party if actor is not None else None
    await publish(session, ReportActed(report.id, event.id, action, acting), now)
    return report


async def claim_files(
    session: AsyncSession, actor: Actor, report: Report, attachment_ids: list[int]
) -> list[int]:
    """Attach the person's own new files to the report; others' ids are ignored."""
    owned = await session.scalars(
        select(Attachment)
        .where(
            Attachment.id.in_(attachment_ids[:MAX_FILES]),
            Attachment.uploaded_by_id == actor.person_id,
            Attachment.report_id.is_(None),
        )
        .order_by(Attachment.id)
    )
    claimed = []
    for attachment in owned:
        attachment.report_id = report.id
        claimed.append(attachment.id)
    return claimed


def _apply_details(
    report: Report, action: ReportAction, now: datetime, detail: dict[str, Any]
) -> None:
    match action:
        case ReportAction.ACCEPT:
            report.accepted_at = now
        case ReportAction.SCHEDULE:
            report.consultation = _jsonable(detail)
        case ReportAction.PROPOSE:
            report.solution = detail.get("solution")
        case ReportAction.RESOLVE:
            report.resolved_at = now
            # The resolution note is what the follow-up nudge shows the enterprise.
            report.solution = detail.get("solution") or report.solution
            report.follow_up_nudged_at = None
        case ReportAction.CONFIRM_SOLVED | ReportAction.CLOSE_UNCONFIRMED:
            report.closed_at = now
        case ReportAction.REJECT_SOLUTION:
            report.resolved_at = None
        case ReportAction.ESCALATE:
            report.research_escalated_at = now
            report.research_concluded_at = report.research_overdue_escalated_at = None
            report.research_lead_id, report.research_team = None, None
            report.research_reason = detail.get("reason")
            report.research_target_on = detail.get("target_on")


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in detail.items()}


async def rate_report(
    session: AsyncSession, actor: Actor, report_id: int, rating: int, now: datetime
) -> Report:
    """Record the enterprise's 1–5 rating of a closed report (once)."""
    require_role(actor, Role.STAFF)
    report, _ = await load_report(session, actor, report_id)
    if rating not in RATINGS:
        raise DomainError("report.rating_invalid")
    if report.status is not ReportStatus.CLOSED or report.rating is not None:
        raise DomainError("error.invalid_transition")
    report.rating = rating
    event = record(session, report, actor.person_id, "rated", now, rating=rating)
    audit(session, actor.person_id, "report.rate", "report", report.id, now, rating=rating)
    await session.flush()
    await publish(session, ReportRated(report.id, event.id), now)
    return report


async def comment_rating(
    session: AsyncSession, actor: Actor, report_id: int, comment: str, now: datetime
) -> Report:
    """Add the enterprise's optional comment to its rating (once); the officer reads it."""
    require_role(actor, Role.STAFF)
    report, _ = await load_report(session, actor, report_id)
    if report.rating is None:
        raise DomainError("error.invalid_transition")
    commented = await session.scalar(
        select(ReportEvent.id).where(
            ReportEvent.report_id == report.id, ReportEvent.kind == "rating_comment"
        )
    )
    if commented is not None:
        raise DomainError("error.invalid_transition")
    event = record(session, report, actor.person_id, "rating_comment", now, text=comment)
    audit(session, actor.person_id, "report.rating_comment", "report", report.id, now)
    await session.flush()
    await publish(session, ReportRated(report.id, event.id), now)
    return report


async def reports_of_enterprise(
    session: AsyncSession, actor: Actor, limit: int = 10, offset: int = 0
) -> list[Report]:
    require_role(actor, Role.STAFF)
    params = {"enterprise_id": actor.enterprise_id, "offset": offset, "limit": limit}
    return list(await session.scalars(_OF_ENTERPRISE, params))


# Built once: /myreports is what staff send most.
_OF_ENTERPRISE = (
    select(Report)
    .where(Report.enterprise_id == bindparam("enterprise_id"))
    .order_by(Report.submitted_at.desc(), Report.id.desc())
    .offset(bindparam("offset"))
    .limit(bindparam("limit"))
)


async def inbox(
    session: AsyncSession, actor: Actor, limit: int = 10, offset: int = 0
) -> list[tuple[Report, Enterprise]]:
    """Reports waiting for the bureau side, oldest first."""
    require_role(actor, Role.OFFICER, Role.SUPERVISOR, Role.ADMIN)
    # An officer's inbox is the reports they handle (a transfer moves a report between inboxes).
    mine = Report.officer_id == actor.person_id if actor.role is Role.OFFICER else None
    rows = await session.execute(
        select(Report, Enterprise)
        .join(Enterprise, Report.enterprise_id == Enterprise.id)
        .where(
            Report.status.in_([s.value for s in AWAITING_OFFICER]),
            mine if mine is not None else enterprises_covered(actor),
        )
        .order_by(Report.submitted_at, Report.id)
        .offset(offset)
        .limit(limit)
    )
    return [(report, enterprise) for report, enterprise in rows]


async def timeline(
    session: AsyncSession, report_id: int
) -> list[tuple[ReportEvent, Person | None]]:
    """The report's thread, oldest first, each entry with its author (None: the system)."""
    rows = await session.execute(
        select(ReportEvent, Person)
        .outerjoin(Person, ReportEvent.actor_id == Person.id)
        .where(ReportEvent.report_id == report_id)
        .order_by(ReportEvent.at, ReportEvent.id)
    )
    return [(event, author) for event, author in rows]
