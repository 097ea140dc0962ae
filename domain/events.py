"""What happened, as the use cases record it; handlers/notices.py decides who hears of it.

Events carry ids, not rows: the notices module loads what it needs in the same transaction,
so a use case never has to know who is told or in which words.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.commitments import CommitmentAction
from domain.reports import ReportAction, ThreadAction
from domain.roles import Party


@dataclass(frozen=True)
class ReportSubmitted:
    report_id: int
    event_id: int
    # Earlier reports of other enterprises found similar (行业共性问题), most similar first.
    similar_report_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ReportActed:
    """A lifecycle step (accept … close); `acting` None: the system's sweeps."""

    report_id: int
    event_id: int
    action: ReportAction
    acting: Party | None


@dataclass(frozen=True)
class ThreadPosted:
    """Information added, a question asked or answered, an internal note."""

    report_id: int
    event_id: int
    action: ThreadAction
    acting: Party


@dataclass(frozen=True)
class ReportTransferred:
    report_id: int
    event_id: int
    from_officer_id: int | None
    to_officer_id: int
    whole_assignment: bool


@dataclass(frozen=True)
class ReportRated:
    report_id: int
    event_id: int


@dataclass(frozen=True)
class CommitmentActed:
    commitment_id: int
    action: CommitmentAction
    acting: Party
    version: int


@dataclass(frozen=True)
class ResearchTeamFormed:
    report_id: int
    event_id: int


@dataclass(frozen=True)
class ResearchTargetDue:
    """The sweep: the target date is near (`passed` False) or passed (escalated once)."""

    report_id: int
    day: str
    passed: bool


@dataclass(frozen=True)
class OutcomeActed:
    """帮扶成效: the officer recorded the outcome, or the enterprise confirmed or corrected it
    (`kind` is the thread entry's kind: outcome_recorded / _confirmed / _corrected)."""

    report_id: int
    event_id: int
    kind: str


DomainEvent = (
    ReportSubmitted
    | ReportActed
    | ThreadPosted
    | ReportTransferred
    | ReportRated
    | CommitmentActed
    | ResearchTeamFormed
    | ResearchTargetDue
    | OutcomeActed
)
