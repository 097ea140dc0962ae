"""帮扶成效: who may record, confirm or correct an outcome in which state; the typed figure."""

from __future__ import annotations

import pytest

from domain.errors import DomainError, InvalidTransition, NotAllowed
from domain.outcomes import (
    OutcomeState,
    check_may_record,
    check_may_review,
    parse_economic_wan,
    wan_text,
)
from domain.reports import ReportStatus
from domain.roles import Actor, Role

S = ReportStatus
ST = OutcomeState
OFFICER = Actor(person_id=1, role=Role.OFFICER, bureau_id=1)
COLLEAGUE = Actor(person_id=3, role=Role.OFFICER, bureau_id=1)
SUPERVISOR = Actor(person_id=4, role=Role.SUPERVISOR, bureau_id=1)
STAFF = Actor(person_id=2, role=Role.STAFF, enterprise_id=1)
REPORT_OFFICER = OFFICER.person_id

# (actor, report status, outcome state) where recording is allowed; everything else refused.
RECORD_ALLOWED = {
    (OFFICER, S.CLOSED, None),
    (OFFICER, S.CLOSED, ST.CORRECTED),
    (OFFICER, S.CLOSED_UNCONFIRMED, None),
    (OFFICER, S.CLOSED_UNCONFIRMED, ST.CORRECTED),
}
REVIEW_ALLOWED = {(STAFF, ST.RECORDED)}
ACTORS = (OFFICER, COLLEAGUE, SUPERVISOR, STAFF)
STATES = (None, *ST)


@pytest.mark.parametrize(("actor", "status", "state"), sorted(RECORD_ALLOWED, key=str), ids=str)
def test_record_allowed(actor: Actor, status: ReportStatus, state: OutcomeState | None) -> None:
    check_may_record(actor, status, REPORT_OFFICER, state)


def _record_refused() -> list[tuple[Actor, ReportStatus, OutcomeState | None]]:
    return [
        (actor, status, state)
        for actor in ACTORS
        for status in S
        for state in STATES
        if (actor, status, state) not in RECORD_ALLOWED
    ]


@pytest.mark.parametrize(("actor", "status", "state"), _record_refused(), ids=str)
def test_record_everything_else_refused(
    actor: Actor, status: ReportStatus, state: OutcomeState | None
) -> None:
    with pytest.raises((NotAllowed, InvalidTransition)):
        check_may_record(actor, status, REPORT_OFFICER, state)


def test_only_the_current_officer_records_and_is_told_why() -> None:
    with pytest.raises(NotAllowed) as colleague:
        check_may_record(COLLEAGUE, S.CLOSED, REPORT_OFFICER, None)
    assert colleague.value.key == "report.not_yours"
    with pytest.raises(NotAllowed) as supervisor:
        check_may_record(SUPERVISOR, S.CLOSED, REPORT_OFFICER, None)
    assert supervisor.value.key == "outcome.officer_only"
    with pytest.raises(InvalidTransition) as waiting:
        check_may_record(OFFICER, S.CLOSED, REPORT_OFFICER, ST.RECORDED)
    assert waiting.value.key == "outcome.already_recorded"


@pytest.mark.parametrize(
    ("actor", "state"),
    [(a, s) for a in ACTORS for s in STATES if (a, s) not in REVIEW_ALLOWED],
    ids=str,
)
def test_review_everything_else_refused(actor: Actor, state: OutcomeState | None) -> None:
    with pytest.raises((NotAllowed, InvalidTransition)):
        check_may_review(actor, state)


def test_review_allowed() -> None:
    check_may_review(STAFF, ST.RECORDED)


@pytest.mark.parametrize(
    ("typed", "yuan"),
    [
        ("12.5", 125_000),
        ("12.5万", 125_000),
        ("12.5 万元", 125_000),
        ("１２.５万", 125_000),
        ("0", 0),
        ("0.01", 100),
        ("1,200", 12_000_000),
        ("100000", 1_000_000_000),
    ],
)
def test_economic_figure_as_typed(typed: str, yuan: int) -> None:
    assert parse_economic_wan(typed) == yuan


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("-3", "outcome.economic_invalid"),
        ("1.234", "outcome.economic_invalid"),
        ("twelve", "outcome.economic_invalid"),
        ("=1+1", "outcome.economic_invalid"),
        ("1e5", "outcome.economic_invalid"),
        ("", "outcome.economic_invalid"),
        ("9" * 5000, "outcome.economic_invalid"),
        ("100000.01", "outcome.economic_too_large"),
    ],
)
def test_economic_figure_refused(typed: str, key: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_economic_wan(typed)
    assert refused.value.key == key


@pytest.mark.parametrize(
    ("yuan", "shown"), [(125_000, "12.5"), (300, "0.03"), (30_000, "3"), (0, "0")]
)
def test_wan_text(yuan: int, shown: str) -> None:
    assert wan_text(yuan) == shown
