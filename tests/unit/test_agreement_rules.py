"""When an agreement's notices are due, and which periods are accepted."""

from __future__ import annotations

from datetime import date

import pytest

from domain.agreements import (
    AgreementMoment,
    check_period,
    clean_signatory,
    evaluating_party,
    moment,
)
from domain.errors import DomainError, NotAllowed
from domain.roles import Actor, Party, Role

END = date(2026, 12, 30)


@pytest.mark.parametrize(
    ("today", "noticed", "opened", "expected"),
    [
        (date(2026, 11, 29), None, None, AgreementMoment.NOTHING),  # 31 days before
        (date(2026, 11, 30), None, None, AgreementMoment.EXPIRY_NOTICE),  # 30 days before
        (date(2026, 12, 10), None, None, AgreementMoment.EXPIRY_NOTICE),  # a missed sweep
        (date(2026, 12, 10), END, None, AgreementMoment.NOTHING),  # once
        (date(2026, 12, 10), date(2026, 12, 1), None, AgreementMoment.EXPIRY_NOTICE),  # moved
        (date(2026, 12, 29), END, None, AgreementMoment.NOTHING),
        (END, END, None, AgreementMoment.EVALUATION),  # the end date itself
        (END, None, None, AgreementMoment.EVALUATION),  # no month-before notice after the end
        (date(2027, 1, 4), END, None, AgreementMoment.EVALUATION),  # first sweep after it
        (date(2027, 1, 4), END, END, AgreementMoment.NOTHING),  # once
    ],
)
def test_moment(
    today: date, noticed: date | None, opened: date | None, expected: AgreementMoment
) -> None:
    assert moment(END, today, noticed, opened) is expected


def test_no_period_no_notice() -> None:
    assert moment(None, END, None, None) is AgreementMoment.NOTHING


@pytest.mark.parametrize(
    ("start", "end", "key"),
    [
        (date(2026, 12, 31), date(2026, 1, 1), "error.agreement_end_before_start"),
        (date(1999, 12, 31), date(2026, 1, 1), "error.agreement_date_range"),
        (date(2026, 1, 1), date(2101, 1, 1), "error.agreement_date_range"),
    ],
)
def test_bad_periods(start: date, end: date, key: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_period(start, end)
    assert refused.value.key == key


def test_a_one_day_period_and_the_bounds_are_fine() -> None:
    check_period(date(2000, 1, 1), date(2000, 1, 1))
    check_period(date(2000, 1, 1), date(2100, 12, 31))


def test_signatory_names() -> None:
    assert clean_signatory("  张\x00总 \n ") == "张总"
    assert clean_signatory("   ") is None
    with pytest.raises(DomainError):
        clean_signatory("x" * 101)


def test_who_rates_for_each_side() -> None:
    staff = Actor(1, Role.STAFF, enterprise_id=5)
    officer = Actor(2, Role.OFFICER, bureau_id=1)
    assert evaluating_party(staff, officer_id=2) is Party.ENTERPRISE
    assert evaluating_party(officer, officer_id=2) is Party.BUREAU
    for outsider in (Actor(3, Role.OFFICER, bureau_id=1), Actor(4, Role.SUPERVISOR, bureau_id=1)):
        with pytest.raises(NotAllowed):
            evaluating_party(outsider, officer_id=2)
