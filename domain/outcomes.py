"""帮扶成效: what the assistance achieved, recorded by the officer once a report is closed and
confirmed or corrected by the enterprise. Rules only, no I/O."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from domain.errors import DomainError, InvalidTransition, NotAllowed
from domain.reports import CLOSED_STATUSES, ReportStatus
from domain.roles import Actor, Role


class Solved(StrEnum):
    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class Measure(StrEnum):
    """What was done for the enterprise; several may apply (a multi-select)."""

    STANDARD = "std"
    INSTRUMENTS = "met"
    CERTIFICATION = "cert"
    TEST_CAPABILITY = "test"
    MANAGEMENT = "qms"
    OTHER = "other"


class OutcomeState(StrEnum):
    # Recorded by the officer, waiting for the enterprise.
    RECORDED = "recorded"
    CONFIRMED = "confirmed"
    # The enterprise disagreed, in its own words; the officer may record again.
    CORRECTED = "corrected"


def parse_measures(codes: list[str]) -> list[Measure]:
    """Keep known measure codes in catalogue order, dropping unknown ones and repeats."""
    wanted = set(codes)
    return [measure for measure in Measure if measure.value in wanted]


# A sane ceiling for one report's figure: 100,000 万元 (1 billion yuan).
MAX_ECONOMIC_WAN = Decimal(100_000)
YUAN_PER_WAN = 10_000
_AMOUNT = re.compile(r"(\d{1,9}(?:\.\d{1,2})?)\s*(?:万元|万|wan)?", re.IGNORECASE)
_FULLWIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")


def parse_economic_wan(typed: str) -> int:
    """Read an amount in 万元 as people type it ("12.5", "12.5万", "12.5 万元") and return it
    in whole yuan; refuse anything else with a message key saying what is expected."""
    text = typed.strip().translate(_FULLWIDTH).replace(",", "").replace("，", "")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise DomainError("outcome.economic_invalid", limit=str(MAX_ECONOMIC_WAN))
    try:
        amount = Decimal(match.group(1))
    except InvalidOperation:
        raise DomainError("outcome.economic_invalid", limit=str(MAX_ECONOMIC_WAN)) from None
    if amount > MAX_ECONOMIC_WAN:
        raise DomainError("outcome.economic_too_large", limit=str(MAX_ECONOMIC_WAN))
    return int(amount * YUAN_PER_WAN)


def wan_text(yuan: int) -> str:
    """An amount in whole yuan as 万元 with at most two decimals ("12.5", "0.03", "3")."""
    amount = (Decimal(yuan) / YUAN_PER_WAN).quantize(Decimal("0.01"))
    return f"{amount:f}".rstrip("0").rstrip(".") if "." in f"{amount:f}" else f"{amount:f}"


def check_may_record(
    actor: Actor, status: ReportStatus, officer_id: int | None, state: OutcomeState | None
) -> None:
    """Only the report's current officer records the outcome, once it is closed, and again
    only after the enterprise corrected it."""
    if actor.role is not Role.OFFICER:
        raise NotAllowed("outcome.officer_only")
    if actor.person_id != officer_id:
        raise NotAllowed("report.not_yours")
    if status not in CLOSED_STATUSES:
        raise InvalidTransition("outcome.not_closed")
    if not awaits_recording(status, state):
        raise InvalidTransition("outcome.already_recorded")


def check_may_review(actor: Actor, state: OutcomeState | None) -> None:
    """Only the enterprise's staff confirm or correct, and only an outcome waiting for them."""
    if actor.role is not Role.STAFF:
        raise NotAllowed()
    if state is not OutcomeState.RECORDED:
        raise InvalidTransition("outcome.not_waiting")


def awaits_recording(status: ReportStatus, state: OutcomeState | None) -> bool:
    """Whether the officer is still to record (or record again after a correction)."""
    return status in CLOSED_STATUSES and state in (None, OutcomeState.CORRECTED)
