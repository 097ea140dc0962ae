"""Commitments: the promising side marks done, the other side confirms or sends back."""

from __future__ import annotations

from datetime import date

import pytest

from domain.commitments import (
    CommitmentAction,
    CommitmentStatus,
    check_transition,
    is_overdue,
    overdue_days,
)
from domain.errors import InvalidTransition, NotAllowed
from domain.roles import Actor, Party, Role

OFFICER = Actor(person_id=1, role=Role.OFFICER, bureau_id=1)
STAFF = Actor(person_id=2, role=Role.STAFF, enterprise_id=1)
C, Act = CommitmentStatus, CommitmentAction


@pytest.mark.parametrize(
    ("party", "marker", "confirmer"),
    [(Party.BUREAU, OFFICER, STAFF), (Party.ENTERPRISE, STAFF, OFFICER)],
)
def test_two_sided_confirmation(party: Party, marker: Actor, confirmer: Actor) -> None:
    assert check_transition(marker, party, C.OPEN, Act.MARK_DONE) is C.AWAITING_CONFIRMATION
    assert check_transition(confirmer, party, C.AWAITING_CONFIRMATION, Act.CONFIRM) is C.CONFIRMED
    assert check_transition(confirmer, party, C.AWAITING_CONFIRMATION, Act.SEND_BACK) is C.OPEN
    with pytest.raises(NotAllowed):
        check_transition(confirmer, party, C.OPEN, Act.MARK_DONE)
    with pytest.raises(NotAllowed):
        check_transition(marker, party, C.AWAITING_CONFIRMATION, Act.CONFIRM)


def test_nothing_moves_a_confirmed_commitment() -> None:
    for action in Act:
        for actor in (OFFICER, STAFF):
            with pytest.raises((InvalidTransition, NotAllowed)):
                check_transition(actor, Party.BUREAU, C.CONFIRMED, action)


def test_cannot_confirm_what_was_not_marked_done() -> None:
    with pytest.raises(InvalidTransition):
        check_transition(STAFF, Party.BUREAU, C.OPEN, Act.CONFIRM)


def test_overdue_counts_only_open_commitments_after_the_due_day() -> None:
    due = date(2026, 11, 27)
    assert not is_overdue(C.OPEN, due, due)
    assert is_overdue(C.OPEN, due, date(2026, 11, 28))
    assert not is_overdue(C.AWAITING_CONFIRMATION, due, date(2026, 12, 28))
    assert overdue_days(due, date(2026, 11, 30)) == 3
    assert overdue_days(due, date(2026, 11, 1)) == 0


def test_fulfilment_judges_what_is_due_or_already_confirmed() -> None:
    from domain.commitments import counts_toward_fulfilment

    today = date(2026, 11, 30)
    assert counts_toward_fulfilment(C.OPEN, today, today)
    assert counts_toward_fulfilment(C.OPEN, date(2026, 11, 1), today)
    assert not counts_toward_fulfilment(C.OPEN, date(2026, 12, 1), today)
    assert not counts_toward_fulfilment(C.AWAITING_CONFIRMATION, date(2026, 12, 1), today)
    assert counts_toward_fulfilment(C.CONFIRMED, date(2026, 12, 31), today)
