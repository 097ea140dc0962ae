"""The agreement's period and its evaluation (评价): when to remind, who rates whom."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from domain.errors import DomainError, NotAllowed
from domain.roles import Actor, Party, Role

# Both sides hear this many days before the end that the agreement is running out.
EXPIRY_NOTICE_DAYS = 30
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100
MIN_SCORE, MAX_SCORE = 1, 5
MAX_SIGNATORY = 100


class AgreementMoment(StrEnum):
    """What the sweep owes an agreement today."""

    NOTHING = "nothing"
    EXPIRY_NOTICE = "expiry_notice"
    EVALUATION = "evaluation"


def check_period(starts_on: date, ends_on: date) -> None:
    """Refuse a period outside 2000–2100 or one that ends before it starts."""
    for day in (starts_on, ends_on):
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise DomainError(
                "error.agreement_date_range",
                value=day.isoformat(),
                earliest=EARLIEST_YEAR,
                latest=LATEST_YEAR,
            )
    if ends_on < starts_on:
        raise DomainError(
            "error.agreement_end_before_start", start=starts_on.isoformat(), end=ends_on.isoformat()
        )


def clean_signatory(name: str | None) -> str | None:
    """A signatory's name on one line, or None when blank; refuse an overlong one."""
    if name is None:
        return None
    cleaned = " ".join("".join(c for c in name if c.isprintable()).split())
    if len(cleaned) > MAX_SIGNATORY:
        raise DomainError("error.signatory_too_long", limit=MAX_SIGNATORY)
    return cleaned or None


def moment(
    ends_on: date | None,
    today: date,
    expiry_noticed_for: date | None,
    evaluation_opened_for: date | None,
) -> AgreementMoment:
    """What is due for an agreement today; each at most once per end date.

    The notices are marked with the end date they were sent for, so moving the end date
    arms them again, and a sweep missed on the day itself catches up on the next one.
    """
    if ends_on is None:
        return AgreementMoment.NOTHING
    if today >= ends_on:
        if evaluation_opened_for != ends_on:
            return AgreementMoment.EVALUATION
        return AgreementMoment.NOTHING
    if today >= ends_on - timedelta(days=EXPIRY_NOTICE_DAYS) and expiry_noticed_for != ends_on:
        return AgreementMoment.EXPIRY_NOTICE
    return AgreementMoment.NOTHING


def days_left(ends_on: date, today: date) -> int:
    """Calendar days until the end date (0 on the day, negative after it)."""
    return (ends_on - today).days


def evaluating_party(actor: Actor, officer_id: int | None) -> Party:
    """The side this person rates for: the enterprise's staff, or its assigned officer."""
    if actor.role is Role.STAFF:
        return Party.ENTERPRISE
    if actor.role is Role.OFFICER and actor.person_id == officer_id:
        return Party.BUREAU
    raise NotAllowed("error.evaluation_not_yours")


def check_evaluation_open(ends_on: date | None, today: date) -> date:
    """The period being evaluated; refuse before the end date."""
    if ends_on is None or today < ends_on:
        raise DomainError("error.evaluation_not_open", end=ends_on.isoformat() if ends_on else "—")
    return ends_on


def check_score(score: int) -> int:
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise DomainError("error.button_invalid")
    return score


def mean_score(ratings: dict[str, int]) -> float | None:
    return round(sum(ratings.values()) / len(ratings), 1) if ratings else None
