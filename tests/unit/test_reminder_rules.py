"""Reminder rules without a database: digest content, thresholds, quiet hours, schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import WorkingCalendar
from domain.commitments import CommitmentStatus
from domain.reminders import (
    CommitmentItem,
    FollowUp,
    QuietHours,
    WaitingReport,
    commitment_needs_escalation,
    follow_up_after_resolution,
    is_due_soon,
    next_sweep_at,
    plan_digest,
    report_needs_escalation,
    sweep_is_due,
)
from domain.reports import ReportStatus
from domain.roles import Party

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()
OPEN = CommitmentStatus.OPEN


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=SHANGHAI).astimezone(UTC)


def item(cid: int, due_on: date) -> CommitmentItem:
    return CommitmentItem(cid, f"事项{cid}", Party.BUREAU, due_on, 1, "企业")


class TestDigestContent:
    def test_sorts_overdue_oldest_first_and_due_soon_soonest_first(self) -> None:
        today = date(2026, 12, 1)
        items = [
            item(1, today + timedelta(days=3)),
            item(2, today - timedelta(days=1)),
            item(3, today),
            item(4, today - timedelta(days=9)),
            item(5, today + timedelta(days=4)),  # beyond the horizon
        ]
        digest = plan_digest(today, items)
        assert digest is not None
        assert [(o.item.commitment_id, o.days_overdue) for o in digest.overdue] == [(4, 9), (2, 1)]
        assert [i.commitment_id for i in digest.due_soon] == [3, 1]

    def test_nothing_to_say_is_no_digest(self) -> None:
        today = date(2026, 12, 1)
        assert plan_digest(today, [item(1, today + timedelta(days=10))]) is None
        assert plan_digest(today, []) is None

    def test_reports_longest_waiting_first(self) -> None:
        old = WaitingReport(
            1, "QP-2026-0001", ReportStatus.SUBMITTED, "甲", local(date(2026, 11, 2), 9)
        )
        new = WaitingReport(
            2, "QP-2026-0002", ReportStatus.ACCEPTED, "乙", local(date(2026, 11, 30), 9)
        )
        digest = plan_digest(date(2026, 12, 1), [], [new, old])
        assert digest is not None and [r.report_id for r in digest.reports] == [1, 2]

    @pytest.mark.parametrize(("due_in", "soon"), [(-1, False), (0, True), (3, True), (4, False)])
    def test_due_soon_window(self, due_in: int, soon: bool) -> None:
        today = date(2026, 12, 1)
        assert is_due_soon(OPEN, today + timedelta(days=due_in), today) is soon
        assert not is_due_soon(CommitmentStatus.CONFIRMED, today, today)


class TestThresholds:
    def test_commitment_escalates_after_more_than_five_working_days(self) -> None:
        due = date(2026, 9, 29)  # Tue before National Day: 09-30, then 10-08 onwards
        fifth, sixth = CAL.add_working_days(due, 5), CAL.add_working_days(due, 6)
        assert (fifth, sixth) == (date(2026, 10, 12), date(2026, 10, 13))
        assert not commitment_needs_escalation(CAL, OPEN, due, fifth, False)
        assert commitment_needs_escalation(CAL, OPEN, due, sixth, False)
        assert not commitment_needs_escalation(CAL, OPEN, due, sixth, True)
        awaiting = CommitmentStatus.AWAITING_CONFIRMATION
        assert not commitment_needs_escalation(CAL, awaiting, due, sixth, False)

    def test_report_first_response(self) -> None:
        friday = date(2026, 12, 4)
        submitted = ReportStatus.SUBMITTED
        # Mon and Tue are the two working days to respond; Wed is late.
        assert not report_needs_escalation(CAL, submitted, friday, date(2026, 12, 8), 2, False)
        assert report_needs_escalation(CAL, submitted, friday, date(2026, 12, 9), 2, False)
        assert not report_needs_escalation(CAL, submitted, friday, date(2026, 12, 9), 2, True)
        accepted = ReportStatus.ACCEPTED
        assert not report_needs_escalation(CAL, accepted, friday, date(2026, 12, 9), 2, False)

    def test_follow_up_after_resolution(self) -> None:
        resolved = date(2026, 12, 1)
        resolved_status = ReportStatus.RESOLVED

        def outcome(n: int, nudged: bool = False) -> FollowUp:
            today = CAL.add_working_days(resolved, n)
            return follow_up_after_resolution(CAL, resolved_status, resolved, today, nudged)

        assert outcome(2) is FollowUp.NOTHING
        assert outcome(3) is FollowUp.NUDGE
        assert outcome(4, nudged=True) is FollowUp.NOTHING
        assert outcome(10, nudged=True) is FollowUp.CLOSE_UNCONFIRMED
        closed = follow_up_after_resolution(
            CAL, ReportStatus.CLOSED, resolved, date(2027, 1, 1), False
        )
        assert closed is FollowUp.NOTHING


class TestQuietHours:
    @pytest.mark.parametrize(
        ("hh", "mm", "quiet"),
        [(7, 59, True), (8, 0, False), (20, 59, False), (21, 0, True), (23, 30, True)],
    )
    def test_window(self, hh: int, mm: int, quiet: bool) -> None:
        assert QuietHours(SHANGHAI).is_quiet(local(date(2026, 12, 1), hh, mm)) is quiet

    def test_deferred_to_eight_local(self) -> None:
        quiet = QuietHours(SHANGHAI)
        day = date(2026, 12, 1)
        assert quiet.defer_until(local(day, 22)) == local(day + timedelta(days=1), 8)
        assert quiet.defer_until(local(day, 3)) == local(day, 8)
        assert quiet.defer_until(local(day, 12)) is None


class TestSchedule:
    def test_due_from_remind_at_until_quiet_hours_on_working_days(self) -> None:
        nine = time(9, 0)
        monday, saturday = date(2026, 11, 30), date(2026, 12, 5)
        assert not sweep_is_due(CAL, local(monday, 8, 59), SHANGHAI, nine, False)
        assert sweep_is_due(CAL, local(monday, 9), SHANGHAI, nine, False)
        assert sweep_is_due(CAL, local(monday, 15), SHANGHAI, nine, False)  # catch-up
        assert not sweep_is_due(CAL, local(monday, 15), SHANGHAI, nine, True)
        assert not sweep_is_due(CAL, local(monday, 21, 30), SHANGHAI, nine, False)
        assert not sweep_is_due(CAL, local(saturday, 9), SHANGHAI, nine, False)

    def test_next_sweep_skips_holidays(self) -> None:
        nine = time(9, 0)
        assert next_sweep_at(CAL, local(date(2026, 9, 30), 10), SHANGHAI, nine) == local(
            date(2026, 10, 8), 9
        )
        assert next_sweep_at(CAL, local(date(2026, 10, 9), 10), SHANGHAI, nine) == local(
            date(2026, 10, 10), 9
        )
        assert next_sweep_at(CAL, local(date(2026, 12, 1), 8), SHANGHAI, nine) == local(
            date(2026, 12, 1), 9
        )


class TestResearchTarget:
    """From 3 working days before the target date: reminded; after it: escalated."""

    def test_reminded_from_three_working_days_before(self) -> None:
        from datetime import date

        from domain.calendar import WorkingCalendar
        from domain.research import TargetState, target_state

        calendar = WorkingCalendar()
        target = date(2026, 12, 10)  # a Thursday
        assert target_state(calendar, target, date(2026, 12, 4)) is None  # Fri: 4 to go
        assert target_state(calendar, target, date(2026, 12, 7)) is TargetState.SOON  # Mon
        assert target_state(calendar, target, date(2026, 12, 10)) is TargetState.SOON
        assert target_state(calendar, target, date(2026, 12, 11)) is TargetState.PASSED
