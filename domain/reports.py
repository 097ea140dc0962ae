"""The report lifecycle of SPEC §3 as one explicit transition table."""

from __future__ import annotations

from enum import StrEnum

from domain.errors import InvalidTransition, NotAllowed
from domain.roles import Actor, Party, Role


class ReportStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    CONSULTATION_SCHEDULED = "consultation_scheduled"
    SOLUTION_PROPOSED = "solution_proposed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    # The enterprise never answered after resolution (issue 4); counted apart in statistics.
    CLOSED_UNCONFIRMED = "closed_unconfirmed"


class ReportAction(StrEnum):
    ACCEPT = "accept"
    SCHEDULE = "schedule"
    PROPOSE = "propose"
    RESOLVE = "resolve"
    CONFIRM_SOLVED = "confirm_solved"
    REJECT_SOLUTION = "reject_solution"
    ESCALATE = "escalate"
    CLOSE_UNCONFIRMED = "close_unconfirmed"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


S = ReportStatus
A = ReportAction

OPEN_STATUSES = frozenset(
    {S.SUBMITTED, S.ACCEPTED, S.CONSULTATION_SCHEDULED, S.SOLUTION_PROPOSED, S.REOPENED}
)
CLOSED_STATUSES = frozenset({S.CLOSED, S.CLOSED_UNCONFIRMED})
# Where the officer is still expected to move the report forward.
AWAITING_OFFICER = OPEN_STATUSES
_WORKING = (S.ACCEPTED, S.CONSULTATION_SCHEDULED, S.SOLUTION_PROPOSED, S.REOPENED)

# (status, action) -> next status. Escalation keeps the status: the research team
# works on the report where it stands.
TRANSITIONS: dict[tuple[ReportStatus, ReportAction], ReportStatus] = {
    (S.SUBMITTED, A.ACCEPT): S.ACCEPTED,
    **{(s, A.SCHEDULE): S.CONSULTATION_SCHEDULED for s in _WORKING},
    **{(s, A.PROPOSE): S.SOLUTION_PROPOSED for s in _WORKING},
    **{(s, A.RESOLVE): S.RESOLVED for s in _WORKING},
    (S.RESOLVED, A.CONFIRM_SOLVED): S.CLOSED,
    (S.RESOLVED, A.REJECT_SOLUTION): S.REOPENED,
    (S.RESOLVED, A.CLOSE_UNCONFIRMED): S.CLOSED_UNCONFIRMED,
    **{(s, A.ESCALATE): s for s in OPEN_STATUSES},
}

# Which side of the agreement may take each action; None means only the system (sweeps).
ACTING_PARTY: dict[ReportAction, Party | None] = {
    A.ACCEPT: Party.BUREAU,
    A.SCHEDULE: Party.BUREAU,
    A.PROPOSE: Party.BUREAU,
    A.RESOLVE: Party.BUREAU,
    A.ESCALATE: Party.BUREAU,
    A.CONFIRM_SOLVED: Party.ENTERPRISE,
    A.REJECT_SOLUTION: Party.ENTERPRISE,
    A.CLOSE_UNCONFIRMED: None,
}


def next_status(status: ReportStatus, action: ReportAction) -> ReportStatus:
    """Return the status after the action, or refuse an action the status does not allow."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition("error.report_transition", status=status.value) from None


def check_transition(
    actor: Actor | None, status: ReportStatus, action: ReportAction
) -> ReportStatus:
    """Check that this actor's side may take the action now; return the next status."""
    party = ACTING_PARTY[action]
    if actor is None:
        if party is not None:
            raise NotAllowed()
    elif party is None or actor.party is not party:
        raise NotAllowed()
    return next_status(status, action)


def allowed_actions(actor: Actor, status: ReportStatus) -> list[ReportAction]:
    """The actions this actor's side could take now, in lifecycle order (for buttons)."""
    return [
        action
        for action in ReportAction
        if ACTING_PARTY[action] is actor.party and (status, action) in TRANSITIONS
    ]


RATINGS = range(1, 6)


class ThreadAction(StrEnum):
    """What either side adds to a report's thread without changing its status."""

    ADD_INFO = "add_info"
    ASK = "ask"
    ANSWER = "answer"
    NOTE = "note"
    TRANSFER = "transfer"
    # What the consultation (会商会诊) concluded, for the enterprise to read.
    CONCLUSION = "conclusion"
    # The research team's progress notes and its conclusion (which returns the report).
    PROGRESS = "progress"
    RESEARCH_CONCLUSION = "research_conclusion"


# Thread entries never shown to the enterprise: in views, notices, digests, exports.
INTERNAL_KINDS = frozenset({ThreadAction.NOTE.value})

_STILL_OPEN = OPEN_STATUSES | {S.RESOLVED}

# action -> (the side that may take it, the statuses it applies to).
THREAD_ACTIONS: dict[ThreadAction, tuple[Party, frozenset[ReportStatus]]] = {
    ThreadAction.ADD_INFO: (Party.ENTERPRISE, _STILL_OPEN),
    ThreadAction.ASK: (Party.BUREAU, _STILL_OPEN),
    ThreadAction.ANSWER: (Party.ENTERPRISE, _STILL_OPEN),
    # Colleagues may keep notes on a closed report too (for the next similar case).
    ThreadAction.NOTE: (Party.BUREAU, frozenset(S)),
    ThreadAction.TRANSFER: (Party.BUREAU, _STILL_OPEN),
    ThreadAction.CONCLUSION: (Party.BUREAU, _STILL_OPEN),
    ThreadAction.PROGRESS: (Party.BUREAU, _STILL_OPEN),
    ThreadAction.RESEARCH_CONCLUSION: (Party.BUREAU, _STILL_OPEN),
}


def check_thread_action(actor: Actor | None, status: ReportStatus, action: ThreadAction) -> None:
    """Check that this actor's side may add this to the thread in the report's status."""
    party, statuses = THREAD_ACTIONS[action]
    if actor is None or actor.party is not party:
        raise NotAllowed()
    if status not in statuses:
        raise InvalidTransition("error.report_transition", status=status.value)


def check_handles(actor: Actor | None, officer_id: int | None) -> None:
    """An officer acts only on the reports assigned to them (a transfer takes that away);
    supervisors and admins act on any report in their scope."""
    if actor is not None and actor.role is Role.OFFICER and actor.person_id != officer_id:
        raise NotAllowed("report.not_yours")
