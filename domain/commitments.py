"""Commitment states with two-sided confirmation (SPEC §3 Commitments)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from domain.errors import InvalidTransition, NotAllowed
from domain.roles import Actor, Party


class CommitmentStatus(StrEnum):
    OPEN = "open"
    # Marked done by the promising side; the other side has yet to confirm.
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CONFIRMED = "confirmed"


class CommitmentAction(StrEnum):
    MARK_DONE = "mark_done"
    CONFIRM = "confirm"
    SEND_BACK = "send_back"


C = CommitmentStatus
TRANSITIONS: dict[tuple[CommitmentStatus, CommitmentAction], CommitmentStatus] = {
    (C.OPEN, CommitmentAction.MARK_DONE): C.AWAITING_CONFIRMATION,
    (C.AWAITING_CONFIRMATION, CommitmentAction.CONFIRM): C.CONFIRMED,
    (C.AWAITING_CONFIRMATION, CommitmentAction.SEND_BACK): C.OPEN,
}


def other_party(party: Party) -> Party:
    return Party.ENTERPRISE if party is Party.BUREAU else Party.BUREAU


def acting_party(commitment_party: Party, action: CommitmentAction) -> Party:
    """The promising side marks done; the other side confirms or sends back."""
    if action is CommitmentAction.MARK_DONE:
        return commitment_party
    return other_party(commitment_party)


def check_transition(
    actor: Actor, party: Party, status: CommitmentStatus, action: CommitmentAction
) -> CommitmentStatus:
    """Check that this actor's side may take the action now; return the next status."""
    if actor.party is not acting_party(party, action):
        raise NotAllowed("error.commitment_other_side")
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition("error.commitment_transition", status=status.value) from None


def is_overdue(status: CommitmentStatus, due_on: date, today: date) -> bool:
    return status is CommitmentStatus.OPEN and due_on < today


def overdue_days(due_on: date, today: date) -> int:
    """Calendar days past the due date (0 when not yet due)."""
    return max(0, (today - due_on).days)


def counts_toward_fulfilment(status: CommitmentStatus, due_on: date, today: date) -> bool:
    """A commitment is judged once it is due (or when it was confirmed early), not before."""
    return status is CommitmentStatus.CONFIRMED or due_on <= today
