"""Figures that name who is late (issue 13): pure functions over plain rows, no I/O.

The loader in handlers/usecases/figures.py turns database rows into the plain rows below
(with local dates); /stats, the chart and the workbook all read what these functions return.

Definitions (the README repeats them for supervisors):
- days to acceptance / resolution: working days from the local day of submission to the local
  day of acceptance / of the (latest) resolution, `WorkingCalendar.working_days_between`: the
  same day is 0, Friday to Monday is 1, a public holiday in between does not count;
- confirmed share: of the reports closed, the share the enterprise confirmed as solved (the
  rest were closed by the sweep without an answer);
- 帮扶成效 (outcomes): each report's latest recorded outcome counts in the report's groups
  (its city, officer, areas and month of submission): recorded, confirmed by the enterprise,
  solved yes/partly/no, each measure, and the economic figure summed (in yuan, shown in 万元);
  an outcome the enterprise corrected still counts until the officer records it again;
- a commitment is *due* once its due date has come (or once it was marked done early); it was
  *done on time* when the promising side marked it done on or before its due date, *late* after;
  *overdue now* while still open after its due date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from statistics import median

from domain.calendar import WorkingCalendar
from domain.commitments import CommitmentStatus
from domain.outcomes import Measure, Solved, wan_text
from domain.reports import ReportStatus
from domain.roles import Party


@dataclass(frozen=True)
class OutcomeRow:
    """A report's recorded outcome (帮扶成效) as the figures need it."""

    solved: Solved
    measures: tuple[Measure, ...] = ()
    economic_yuan: int | None = None
    confirmed: bool = False


@dataclass(frozen=True)
class ReportRow:
    """One report as the figures need it; dates are local calendar days."""

    report_id: int
    reference: str
    enterprise_id: int
    enterprise: str
    city: str
    officer_id: int | None
    officer: str
    areas: tuple[str, ...]
    status: ReportStatus
    submitted_on: date
    accepted_on: date | None = None
    resolved_on: date | None = None
    rating: int | None = None
    # How often the enterprise rejected a resolution and the report was reopened.
    reopened: int = 0
    outcome: OutcomeRow | None = None


@dataclass(frozen=True)
class CommitmentRow:
    """One commitment as the figures need it; `done_on` is the local day it was marked done."""

    commitment_id: int
    enterprise_id: int
    enterprise: str
    city: str
    officer_id: int | None
    officer: str
    party: Party
    status: CommitmentStatus
    due_on: date
    done_on: date | None = None


class Dimension(StrEnum):
    CITY = "city"
    OFFICER = "officer"
    AREA = "area"
    MONTH = "month"


@dataclass
class SideFigures:
    """Commitments of one side of the agreements."""

    due: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0

    @property
    def done(self) -> int:
        return self.on_time + self.late

    @property
    def fulfilment(self) -> float | None:
        """Share of the due commitments that were done, on time or late."""
        return self.done / self.due if self.due else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass
class OutcomeFigures:
    """帮扶成效 of one group: what the assistance on its closed reports achieved."""

    recorded: int = 0
    confirmed: int = 0
    solved: dict[Solved, int] = field(default_factory=lambda: dict.fromkeys(Solved, 0))
    measures: dict[Measure, int] = field(default_factory=lambda: dict.fromkeys(Measure, 0))
    economic_yuan: int = 0

    @property
    def economic_wan(self) -> str:
        """The summed economic figure in 万元, two decimals at most ("12.5")."""
        return wan_text(self.economic_yuan)

    def add(self, outcome: OutcomeRow) -> None:
        self.recorded += 1
        self.confirmed += outcome.confirmed
        self.solved[outcome.solved] += 1
        for measure in outcome.measures:
            self.measures[measure] += 1
        self.economic_yuan += outcome.economic_yuan or 0


@dataclass
class GroupFigures:
    """Every figure of one city, officer, service area or month."""

    key: str
    label: str
    received: int = 0
    days_to_accept: list[int] = field(default_factory=list)
    days_to_resolve: list[int] = field(default_factory=list)
    closed: int = 0
    confirmed: int = 0
    ratings: list[int] = field(default_factory=list)
    reopened: int = 0
    bureau: SideFigures = field(default_factory=SideFigures)
    enterprise: SideFigures = field(default_factory=SideFigures)
    outcomes: OutcomeFigures = field(default_factory=OutcomeFigures)

    @property
    def median_days_to_accept(self) -> float | None:
        return median(self.days_to_accept) if self.days_to_accept else None

    @property
    def median_days_to_resolve(self) -> float | None:
        return median(self.days_to_resolve) if self.days_to_resolve else None

    @property
    def confirmed_share(self) -> float | None:
        return self.confirmed / self.closed if self.closed else None

    @property
    def mean_rating(self) -> float | None:
        return sum(self.ratings) / len(self.ratings) if self.ratings else None

    @property
    def both_sides(self) -> SideFigures:
        return SideFigures(
            due=self.bureau.due + self.enterprise.due,
            on_time=self.bureau.on_time + self.enterprise.on_time,
            late=self.bureau.late + self.enterprise.late,
            overdue=self.bureau.overdue + self.enterprise.overdue,
        )


# A group's (key, label) pairs for one row: areas give several, the rest one.
_ReportKeys = Callable[[ReportRow], list[tuple[str, str]]]
_CommitmentKeys = Callable[[CommitmentRow], list[tuple[str, str]]]


def _month(day: date) -> tuple[str, str]:
    label = f"{day.year:04d}-{day.month:02d}"
    return label, label


REPORT_KEYS: dict[Dimension, _ReportKeys] = {
    Dimension.CITY: lambda r: [(r.city, r.city)],
    Dimension.OFFICER: lambda r: [(str(r.officer_id or ""), r.officer)],
    Dimension.AREA: lambda r: [(area, area) for area in r.areas],
    Dimension.MONTH: lambda r: [_month(r.submitted_on)],
}
# Commitments carry no service area: the area table has report figures only.
COMMITMENT_KEYS: dict[Dimension, _CommitmentKeys] = {
    Dimension.CITY: lambda c: [(c.city, c.city)],
    Dimension.OFFICER: lambda c: [(str(c.officer_id or ""), c.officer)],
    Dimension.AREA: lambda c: [],
    Dimension.MONTH: lambda c: [_month(c.due_on)],
}


def figures_by(
    dimension: Dimension,
    reports: Iterable[ReportRow],
    commitments: Iterable[CommitmentRow],
    calendar: WorkingCalendar,
    today: date,
) -> list[GroupFigures]:
    """Group every figure by city, officer, area or month; groups in key order."""
    groups: dict[str, GroupFigures] = {}

    def group(key: str, label: str) -> GroupFigures:
        return groups.setdefault(key, GroupFigures(key, label))

    for report in reports:
        for key, label in REPORT_KEYS[dimension](report):
            add_report(group(key, label), report, calendar)
    for commitment in commitments:
        for key, label in COMMITMENT_KEYS[dimension](commitment):
            add_commitment(group(key, label), commitment, today)
    order = (lambda g: (g.label, g.key)) if dimension is Dimension.OFFICER else (lambda g: g.key)
    return sorted(groups.values(), key=order)


def totals(
    reports: Iterable[ReportRow],
    commitments: Iterable[CommitmentRow],
    calendar: WorkingCalendar,
    today: date,
    label: str = "",
) -> GroupFigures:
    """Every figure over the whole scope, as one group."""
    whole = GroupFigures("", label)
    for report in reports:
        add_report(whole, report, calendar)
    for commitment in commitments:
        add_commitment(whole, commitment, today)
    return whole


def add_report(figures: GroupFigures, report: ReportRow, calendar: WorkingCalendar) -> None:
    """Count one report into a group."""
    figures.received += 1
    if report.accepted_on is not None:
        figures.days_to_accept.append(
            calendar.working_days_between(report.submitted_on, report.accepted_on)
        )
    if report.resolved_on is not None:
        figures.days_to_resolve.append(
            calendar.working_days_between(report.submitted_on, report.resolved_on)
        )
    if report.status in (ReportStatus.CLOSED, ReportStatus.CLOSED_UNCONFIRMED):
        figures.closed += 1
        figures.confirmed += report.status is ReportStatus.CLOSED
    if report.rating is not None:
        figures.ratings.append(report.rating)
    figures.reopened += report.reopened
    if report.outcome is not None:
        figures.outcomes.add(report.outcome)


def add_commitment(figures: GroupFigures, commitment: CommitmentRow, today: date) -> None:
    """Count one commitment into its side of a group."""
    side = figures.bureau if commitment.party is Party.BUREAU else figures.enterprise
    done_on = commitment.done_on if commitment.status is not CommitmentStatus.OPEN else None
    if done_on is None and commitment.due_on > today:
        return
    side.due += 1
    if done_on is not None:
        if done_on <= commitment.due_on:
            side.on_time += 1
        else:
            side.late += 1
    elif commitment.due_on < today:
        side.overdue += 1


# --- 督办: who has the most overdue items ---------------------------------------------


class Culprit(StrEnum):
    OFFICER = "officer"
    ENTERPRISE = "enterprise"


@dataclass
class OverdueRow:
    """One officer or enterprise on the 督办 list and what they owe."""

    kind: Culprit
    subject_id: int
    name: str
    city: str
    overdue_commitments: int = 0
    unanswered_reports: int = 0
    # The earliest due date of an overdue commitment / submission of an unanswered report.
    oldest_due_on: date | None = None
    oldest_unanswered_on: date | None = None

    @property
    def overdue_items(self) -> int:
        return self.overdue_commitments + self.unanswered_reports

    @property
    def oldest_on(self) -> date:
        known = [d for d in (self.oldest_due_on, self.oldest_unanswered_on) if d is not None]
        return min(known) if known else date.max


def overdue_board(
    reports: Iterable[ReportRow], commitments: Iterable[CommitmentRow], today: date
) -> list[OverdueRow]:
    """The 督办 list, most overdue items first, then the oldest, then by name.

    Each side answers for its own: an officer for the bureau's overdue commitments of their
    enterprises and for the reports still waiting for acceptance, an enterprise for its own
    overdue commitments.
    """
    rows: dict[tuple[Culprit, int], OverdueRow] = {}

    def row(kind: Culprit, subject_id: int, name: str, city: str) -> OverdueRow:
        return rows.setdefault((kind, subject_id), OverdueRow(kind, subject_id, name, city))

    for commitment in commitments:
        if commitment.status is not CommitmentStatus.OPEN or commitment.due_on >= today:
            continue
        if commitment.party is Party.BUREAU:
            if commitment.officer_id is None:
                continue
            owner = row(Culprit.OFFICER, commitment.officer_id, commitment.officer, commitment.city)
        else:
            owner = row(
                Culprit.ENTERPRISE, commitment.enterprise_id, commitment.enterprise, commitment.city
            )
        owner.overdue_commitments += 1
        owner.oldest_due_on = _earliest(owner.oldest_due_on, commitment.due_on)
    for report in reports:
        if report.status is not ReportStatus.SUBMITTED or report.officer_id is None:
            continue
        owner = row(Culprit.OFFICER, report.officer_id, report.officer, report.city)
        owner.unanswered_reports += 1
        owner.oldest_unanswered_on = _earliest(owner.oldest_unanswered_on, report.submitted_on)
    return sorted(
        rows.values(),
        key=lambda r: (-r.overdue_items, r.oldest_on, r.name, r.kind.value, r.subject_id),
    )


def _earliest(known: date | None, candidate: date) -> date:
    return candidate if known is None or candidate < known else known
