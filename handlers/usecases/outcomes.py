"""帮扶成效: the officer records what the assistance achieved; the enterprise confirms or
corrects it. Every step goes into the report's thread and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
from domain.events import OutcomeActed
from domain.outcomes import (
    Measure,
    OutcomeState,
    Solved,
    check_may_record,
    check_may_review,
    parse_measures,
)
from domain.roles import Actor
from handlers.notices import publish
from handlers.usecases.notify import audit
from handlers.usecases.reports import load_report, record
from storage.models import Report, ReportOutcome

MAX_NOTE = 1000


@dataclass(frozen=True)
class OutcomeDraft:
    """The answers collected by the few taps of the outcome flow."""

    solved: Solved
    measures: tuple[Measure, ...]
    economic_yuan: int | None = None
    note: str | None = None


async def outcome_of(session: AsyncSession, report_id: int) -> ReportOutcome | None:
    found: ReportOutcome | None = await session.scalar(
        select(ReportOutcome).where(ReportOutcome.report_id == report_id)
    )
    return found


async def check_may_record_outcome(session: AsyncSession, actor: Actor, report_id: int) -> Report:
    """Refuse early (before the taps) what record_outcome would refuse."""
    report, _ = await load_report(session, actor, report_id)
    outcome = await outcome_of(session, report.id)
    check_may_record(
        actor, report.status, report.officer_id, outcome.state if outcome is not None else None
    )
    return report


async def record_outcome(
    session: AsyncSession, actor: Actor, report_id: int, draft: OutcomeDraft, now: datetime
) -> Report:
    """Store the officer's outcome (again, after a correction) and ask the enterprise."""
    report = await check_may_record_outcome(session, actor, report_id)
    measures = [m.value for m in parse_measures([m.value for m in draft.measures])]
    note = (draft.note or "").strip()[:MAX_NOTE] or None
    if draft.economic_yuan is not None and draft.economic_yuan < 0:
        raise DomainError("outcome.economic_invalid")
    outcome = await outcome_of(session, report.id)
    if outcome is None:
        outcome = ReportOutcome(report_id=report.id)
        session.add(outcome)
    outcome.officer_id = actor.person_id
    outcome.solved = draft.solved
    outcome.measures = measures
    outcome.economic_yuan = draft.economic_yuan
    outcome.note = note
    outcome.state = OutcomeState.RECORDED
    outcome.recorded_at = now
    outcome.reviewed_at = outcome.reviewed_by_id = outcome.correction = None
    detail = {
        "solved": draft.solved.value,
        "measures": measures,
        "economic_yuan": draft.economic_yuan,
        "text": note,
    }
    event = record(session, report, actor.person_id, "outcome_recorded", now, **detail)
    audit(session, actor.person_id, "report.outcome_record", "report", report.id, now, **detail)
    await session.flush()
    await publish(session, OutcomeActed(report.id, event.id, event.kind), now)
    return report


async def check_may_review_outcome(
    session: AsyncSession, actor: Actor, report_id: int
) -> tuple[Report, ReportOutcome]:
    """Refuse early (before asking for a correction) what review_outcome would refuse."""
    report, _ = await load_report(session, actor, report_id)
    outcome = await outcome_of(session, report.id)
    check_may_review(actor, outcome.state if outcome is not None else None)
    assert outcome is not None
    return report, outcome


async def review_outcome(
    session: AsyncSession,
    actor: Actor,
    report_id: int,
    correction: str | None,
    now: datetime,
) -> Report:
    """The enterprise confirms the outcome (no correction) or corrects it in its own words;
    the officer is told either way."""
    report, outcome = await check_may_review_outcome(session, actor, report_id)
    outcome.state = OutcomeState.CONFIRMED if correction is None else OutcomeState.CORRECTED
    outcome.reviewed_at = now
    outcome.reviewed_by_id = actor.person_id
    outcome.correction = correction
    kind = "outcome_confirmed" if correction is None else "outcome_corrected"
    event = record(session, report, actor.person_id, kind, now, text=correction)
    audit(session, actor.person_id, f"report.{kind}", "report", report.id, now, text=correction)
    await session.flush()
    await publish(session, OutcomeActed(report.id, event.id, kind), now)
    return report
