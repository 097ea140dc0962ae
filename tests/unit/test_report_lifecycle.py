"""The report transition table: every allowed step, and everything else refused."""

from __future__ import annotations

import pytest

from domain.errors import InvalidTransition, NotAllowed
from domain.reports import (
    TRANSITIONS,
    ReportAction,
    ReportStatus,
    ThreadAction,
    allowed_actions,
    check_handles,
    check_thread_action,
    check_transition,
)
from domain.roles import Actor, Role

S = ReportStatus
A = ReportAction
OFFICER = Actor(person_id=1, role=Role.OFFICER, bureau_id=1)
STAFF = Actor(person_id=2, role=Role.STAFF, enterprise_id=1)

ALLOWED = {
    (S.SUBMITTED, A.ACCEPT, OFFICER): S.ACCEPTED,
    (S.SUBMITTED, A.ESCALATE, OFFICER): S.SUBMITTED,
    (S.ACCEPTED, A.SCHEDULE, OFFICER): S.CONSULTATION_SCHEDULED,
    (S.ACCEPTED, A.PROPOSE, OFFICER): S.SOLUTION_PROPOSED,
    (S.ACCEPTED, A.RESOLVE, OFFICER): S.RESOLVED,
    (S.ACCEPTED, A.ESCALATE, OFFICER): S.ACCEPTED,
    (S.CONSULTATION_SCHEDULED, A.SCHEDULE, OFFICER): S.CONSULTATION_SCHEDULED,
    (S.CONSULTATION_SCHEDULED, A.PROPOSE, OFFICER): S.SOLUTION_PROPOSED,
    (S.CONSULTATION_SCHEDULED, A.RESOLVE, OFFICER): S.RESOLVED,
    (S.CONSULTATION_SCHEDULED, A.ESCALATE, OFFICER): S.CONSULTATION_SCHEDULED,
    (S.SOLUTION_PROPOSED, A.SCHEDULE, OFFICER): S.CONSULTATION_SCHEDULED,
    (S.SOLUTION_PROPOSED, A.PROPOSE, OFFICER): S.SOLUTION_PROPOSED,
    (S.SOLUTION_PROPOSED, A.RESOLVE, OFFICER): S.RESOLVED,
    (S.SOLUTION_PROPOSED, A.ESCALATE, OFFICER): S.SOLUTION_PROPOSED,
    (S.REOPENED, A.SCHEDULE, OFFICER): S.CONSULTATION_SCHEDULED,
    (S.REOPENED, A.PROPOSE, OFFICER): S.SOLUTION_PROPOSED,
    (S.REOPENED, A.RESOLVE, OFFICER): S.RESOLVED,
    (S.REOPENED, A.ESCALATE, OFFICER): S.REOPENED,
    (S.RESOLVED, A.CONFIRM_SOLVED, STAFF): S.CLOSED,
    (S.RESOLVED, A.REJECT_SOLUTION, STAFF): S.REOPENED,
    (S.RESOLVED, A.CLOSE_UNCONFIRMED, None): S.CLOSED_UNCONFIRMED,
}


@pytest.mark.parametrize(("status", "action", "actor"), list(ALLOWED), ids=str)
def test_allowed_transition(
    status: ReportStatus, action: ReportAction, actor: Actor | None
) -> None:
    assert check_transition(actor, status, action) is ALLOWED[(status, action, actor)]


def _refused_cases() -> list[tuple[ReportStatus, ReportAction, Actor | None]]:
    cases = []
    for status in S:
        for action in A:
            for actor in (OFFICER, STAFF, None):
                if (status, action, actor) not in ALLOWED:
                    cases.append((status, action, actor))
    return cases


@pytest.mark.parametrize(("status", "action", "actor"), _refused_cases(), ids=str)
def test_everything_else_is_refused(
    status: ReportStatus, action: ReportAction, actor: Actor | None
) -> None:
    with pytest.raises((InvalidTransition, NotAllowed)):
        check_transition(actor, status, action)


def test_table_has_exactly_the_allowed_steps() -> None:
    assert {(s, a) for s, a, _ in ALLOWED} == set(TRANSITIONS)


def test_wrong_side_is_not_allowed_even_when_the_status_fits() -> None:
    with pytest.raises(NotAllowed):
        check_transition(STAFF, S.SUBMITTED, A.ACCEPT)
    with pytest.raises(NotAllowed):
        check_transition(OFFICER, S.RESOLVED, A.CONFIRM_SOLVED)


def test_closed_reports_offer_no_actions() -> None:
    for status in (S.CLOSED, S.CLOSED_UNCONFIRMED):
        assert allowed_actions(OFFICER, status) == []
        assert allowed_actions(STAFF, status) == []


def test_buttons_follow_the_table() -> None:
    assert allowed_actions(OFFICER, S.SUBMITTED) == [A.ACCEPT, A.ESCALATE]
    assert allowed_actions(STAFF, S.RESOLVED) == [A.CONFIRM_SOLVED, A.REJECT_SOLUTION]


# --- thread actions: added to the thread, the status stays --------------------------------

T = ThreadAction
SUPERVISOR = Actor(person_id=3, role=Role.SUPERVISOR, bureau_id=1)
_LIVE = [s for s in S if s not in (S.CLOSED, S.CLOSED_UNCONFIRMED)]

THREAD_ALLOWED = {
    *((s, T.ADD_INFO, STAFF) for s in _LIVE),
    *((s, T.ANSWER, STAFF) for s in _LIVE),
    *((s, T.ASK, actor) for s in _LIVE for actor in (OFFICER, SUPERVISOR)),
    *((s, T.TRANSFER, actor) for s in _LIVE for actor in (OFFICER, SUPERVISOR)),
    *((s, T.CONCLUSION, actor) for s in _LIVE for actor in (OFFICER, SUPERVISOR)),
    *((s, T.PROGRESS, actor) for s in _LIVE for actor in (OFFICER, SUPERVISOR)),
    *((s, T.RESEARCH_CONCLUSION, actor) for s in _LIVE for actor in (OFFICER, SUPERVISOR)),
    *((s, T.NOTE, actor) for s in S for actor in (OFFICER, SUPERVISOR)),
}


@pytest.mark.parametrize(("status", "action", "actor"), sorted(THREAD_ALLOWED, key=str), ids=str)
def test_thread_action_allowed(status: ReportStatus, action: ThreadAction, actor: Actor) -> None:
    check_thread_action(actor, status, action)


def _thread_refused() -> list[tuple[ReportStatus, ThreadAction, Actor | None]]:
    return [
        (status, action, actor)
        for status in S
        for action in T
        for actor in (OFFICER, SUPERVISOR, STAFF, None)
        if (status, action, actor) not in THREAD_ALLOWED
    ]


@pytest.mark.parametrize(("status", "action", "actor"), _thread_refused(), ids=str)
def test_thread_action_refused(
    status: ReportStatus, action: ThreadAction, actor: Actor | None
) -> None:
    with pytest.raises((InvalidTransition, NotAllowed)):
        check_thread_action(actor, status, action)


def test_only_the_assigned_officer_handles_a_report() -> None:
    check_handles(OFFICER, OFFICER.person_id)
    check_handles(SUPERVISOR, OFFICER.person_id)  # supervisors act on any report in scope
    check_handles(None, OFFICER.person_id)  # the system's sweeps
    with pytest.raises(NotAllowed) as refused:
        check_handles(OFFICER, 99)  # transferred to a colleague
    assert refused.value.key == "report.not_yours"
