"""Figures for supervisors: the rows the domain's figures are computed from, and fulfilment
per enterprise, shared by /stats, the chart and the export workbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.calendar import local_date
from domain.commitments import CommitmentStatus, counts_toward_fulfilment, is_overdue
from domain.figures import CommitmentRow, OutcomeRow, ReportRow
from domain.outcomes import OutcomeState, parse_measures
from domain.reports import ReportAction
from storage.models import (
    Bureau,
    Commitment,
    Enterprise,
    Person,
    Report,
    ReportEvent,
    ReportOutcome,
)


@dataclass
class Fulfilment:
    enterprise: str
    commitments: int = 0
    # Due by today, or confirmed early: the ones the rate is about.
    judged: int = 0
    confirmed: int = 0
    overdue: int = 0

    @property
    def rate(self) -> float | None:
        return self.confirmed / self.judged if self.judged else None


async def fulfilment_by_enterprise(
    session: AsyncSession, scope: ColumnElement[bool], today: date
) -> dict[int, Fulfilment]:
    rows = await session.execute(
        select(Enterprise.id, Enterprise.name, Commitment.status, Commitment.due_on)
        .join(Commitment, Commitment.enterprise_id == Enterprise.id)
        .where(scope)
    )
    figures: dict[int, Fulfilment] = {}
    for enterprise_id, name, status, due_on in rows:
        figure = figures.setdefault(enterprise_id, Fulfilment(name))
        figure.commitments += 1
        figure.judged += counts_toward_fulfilment(status, due_on, today)
        figure.confirmed += status is CommitmentStatus.CONFIRMED
        figure.overdue += is_overdue(status, due_on, today)
    return figures


# Reopened: the enterprise rejected a resolution (the timeline event of that action).
REOPEN_EVENT = ReportAction.REJECT_SOLUTION.value


async def figure_rows(
    session: AsyncSession, scope: ColumnElement[bool], tz: tzinfo
) -> tuple[list[ReportRow], list[CommitmentRow]]:
    """Load the reports and commitments of the enterprises in `scope` as plain rows."""
    handling = aliased(Person)
    in_scope = select(Enterprise.id).where(scope)
    reopened: dict[int, int] = {
        report_id: count
        for report_id, count in await session.execute(
            select(ReportEvent.report_id, func.count(ReportEvent.id))
            .join(Report, ReportEvent.report_id == Report.id)
            .where(ReportEvent.kind == REOPEN_EVENT, Report.enterprise_id.in_(in_scope))
            .group_by(ReportEvent.report_id)
        )
    }
    outcomes: dict[int, OutcomeRow] = {
        outcome.report_id: OutcomeRow(
            solved=outcome.solved,
            measures=tuple(parse_measures(outcome.measures or [])),
            economic_yuan=outcome.economic_yuan,
            confirmed=outcome.state is OutcomeState.CONFIRMED,
        )
        for outcome in await session.scalars(
            select(ReportOutcome)
            .join(Report, ReportOutcome.report_id == Report.id)
            .where(Report.enterprise_id.in_(in_scope))
        )
    }
    reports = [
        ReportRow(
            report_id=report.id,
            reference=report.reference,
            enterprise_id=enterprise.id,
            enterprise=enterprise.name,
            city=bureau.name,
            officer_id=officer.id if officer else None,
            officer=officer.name if officer else "",
            areas=tuple(report.areas or ()),
            status=report.status,
            submitted_on=local_date(report.submitted_at, tz),
            accepted_on=_local_day(report.accepted_at, tz),
            resolved_on=_local_day(report.resolved_at, tz),
            rating=report.rating,
            reopened=reopened.get(report.id, 0),
            outcome=outcomes.get(report.id),
        )
        for report, enterprise, bureau, officer in await session.execute(
            select(Report, Enterprise, Bureau, handling)
            .join(Enterprise, Report.enterprise_id == Enterprise.id)
            .join(Bureau, Enterprise.bureau_id == Bureau.id)
            # The officer who handles the report; the enterprise's officer for older rows.
            .outerjoin(
                handling, handling.id == func.coalesce(Report.officer_id, Enterprise.officer_id)
            )
            .where(scope)
            .order_by(Report.id)
        )
    ]
    commitments = [
        CommitmentRow(
            commitment_id=commitment_id,
            enterprise_id=enterprise_id,
            enterprise=enterprise_name,
            city=city,
            officer_id=officer_id,
            officer=officer_name or "",
            party=party,
            status=status,
            due_on=due_on,
            done_on=_local_day(done_at, tz),
        )
        for (
            commitment_id,
            enterprise_id,
            enterprise_name,
            city,
            officer_id,
            officer_name,
            party,
            status,
            due_on,
            done_at,
        ) in await session.execute(
            select(
                Commitment.id,
                Enterprise.id,
                Enterprise.name,
                Bureau.name,
                Enterprise.officer_id,
                handling.name,
                Commitment.party,
                Commitment.status,
                Commitment.due_on,
                Commitment.done_at,
            )
            .join(Enterprise, Commitment.enterprise_id == Enterprise.id)
            .join(Bureau, Enterprise.bureau_id == Bureau.id)
            .outerjoin(handling, handling.id == Enterprise.officer_id)
            .where(scope)
            .order_by(Commitment.id)
        )
    ]
    return reports, commitments


def _local_day(instant: datetime | None, tz: tzinfo) -> date | None:
    return local_date(instant, tz) if instant is not None else None
