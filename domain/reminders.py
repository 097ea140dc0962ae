"""Reminder and escalation rules (SPEC §4, issue 4): what goes into a day's digest,
when something is escalated or followed up, quiet hours and when the daily sweep is due.

No I/O here: the sweep in handlers/usecases/reminders.py feeds these functions plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from domain.calendar import WorkingCalendar
from domain.commitments import CommitmentStatus, overdue_days
from domain.reports import ReportStatus
from domain.roles import Party

# A commitment due today or in the next 3 calendar days is "due soon".
DUE_SOON_DAYS = 3
# Escalated on the first sweep when it has been overdue for MORE than this many working days.
ESCALATE_OVERDUE_AFTER_WORKING_DAYS = 5
# After "resolved": one nudge after 3 working days without an answer, closed after 10.
FOLLOW_UP_NUDGE_WORKING_DAYS = 3
FOLLOW_UP_CLOSE_WORKING_DAYS = 10
# Nothing but escalations goes out before 08:00 or from 21:00 local time.
QUIET_ENDS = time(8, 0)
QUIET_STARTS = time(21, 0)
# A digest lists at most this many entries (each with a button); the rest is counted.
MAX_DIGEST_ENTRIES = 30


def is_due_soon(status: CommitmentStatus, due_on: date, today: date) -> bool:
    """Open and due today or within the next DUE_SOON_DAYS days."""
    return status is CommitmentStatus.OPEN and today <= due_on <= today + timedelta(
        days=DUE_SOON_DAYS
    )


def overdue_working_days(calendar: WorkingCalendar, due_on: date, today: date) -> int:
    """Working days since the due date passed (the day after `due_on` is the first)."""
    return calendar.working_days_between(due_on, today)


def commitment_needs_escalation(
    calendar: WorkingCalendar,
    status: CommitmentStatus,
    due_on: date,
    today: date,
    already_escalated: bool,
) -> bool:
    """Open, not escalated yet, and overdue for more than 5 working days."""
    if already_escalated or status is not CommitmentStatus.OPEN or due_on >= today:
        return False
    return overdue_working_days(calendar, due_on, today) > ESCALATE_OVERDUE_AFTER_WORKING_DAYS


def escalation_candidates_due_before(today: date) -> date:
    """Due dates before this day may need escalation (a working day is a calendar day too)."""
    return today - timedelta(days=ESCALATE_OVERDUE_AFTER_WORKING_DAYS)


def report_needs_escalation(
    calendar: WorkingCalendar,
    status: ReportStatus,
    submitted_on: date,
    today: date,
    first_response_working_days: int,
    already_escalated: bool,
) -> bool:
    """Still not accepted after the first-response time (in working days after submission)."""
    if already_escalated or status is not ReportStatus.SUBMITTED:
        return False
    return calendar.working_days_between(submitted_on, today) > first_response_working_days


class FollowUp(StrEnum):
    NOTHING = "nothing"
    NUDGE = "nudge"
    CLOSE_UNCONFIRMED = "close_unconfirmed"


def follow_up_after_resolution(
    calendar: WorkingCalendar,
    status: ReportStatus,
    resolved_on: date,
    today: date,
    already_nudged: bool,
) -> FollowUp:
    """Nudge the enterprise once after 3 working days; close as not confirmed after 10."""
    if status is not ReportStatus.RESOLVED:
        return FollowUp.NOTHING
    waited = calendar.working_days_between(resolved_on, today)
    if waited >= FOLLOW_UP_CLOSE_WORKING_DAYS:
        return FollowUp.CLOSE_UNCONFIRMED
    if waited >= FOLLOW_UP_NUDGE_WORKING_DAYS and not already_nudged:
        return FollowUp.NUDGE
    return FollowUp.NOTHING


# --- digests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitmentItem:
    """An open commitment as a digest needs it."""

    commitment_id: int
    text: str
    party: Party
    due_on: date
    enterprise_id: int
    enterprise_name: str


@dataclass(frozen=True)
class WaitingReport:
    """A report waiting for its officer, and since when."""

    report_id: int
    reference: str
    status: ReportStatus
    enterprise_name: str
    waiting_since: datetime


@dataclass(frozen=True)
class OverdueItem:
    item: CommitmentItem
    days_overdue: int


@dataclass
class Digest:
    """One person's reminders for one working day."""

    day: date
    due_soon: list[CommitmentItem] = field(default_factory=list)
    overdue: list[OverdueItem] = field(default_factory=list)
    reports: list[WaitingReport] = field(default_factory=list)
    # For admins from 1 December: next year has no holiday data yet.
    missing_holiday_year: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.due_soon or self.overdue or self.reports or self.missing_holiday_year)

    @property
    def entry_count(self) -> int:
        return len(self.due_soon) + len(self.overdue) + len(self.reports)


def plan_digest(
    today: date,
    commitments: list[CommitmentItem],
    reports: list[WaitingReport] | None = None,
    missing_holiday_year: int | None = None,
) -> Digest | None:
    """Sort open commitments into due soon / overdue; None when there is nothing to say.

    Overdue: oldest first, with calendar days overdue. Due soon: soonest first.
    Reports: longest waiting first. Commitments neither due soon nor overdue are left out.
    """
    digest = Digest(day=today, missing_holiday_year=missing_holiday_year)
    for item in commitments:
        if item.due_on < today:
            digest.overdue.append(OverdueItem(item, overdue_days(item.due_on, today)))
        elif is_due_soon(CommitmentStatus.OPEN, item.due_on, today):
            digest.due_soon.append(item)
    digest.overdue.sort(key=lambda o: (o.item.due_on, o.item.commitment_id))
    digest.due_soon.sort(key=lambda i: (i.due_on, i.commitment_id))
    digest.reports = sorted(reports or [], key=lambda r: (r.waiting_since, r.report_id))
    return None if digest.is_empty else digest


def missing_holiday_year(calendar: WorkingCalendar, today: date) -> int | None:
    """From 1 December: next year, when neither the package nor the bureau has its holidays."""
    if today.month == 12 and not calendar.is_covered(today.year + 1):
        return today.year + 1
    return None


def digest_dedupe_key(day: date) -> str:
    """Per person (notify prefixes the person id), kind and day: one digest a day."""
    return f"digest:{day.isoformat()}"


# --- quiet hours and the daily schedule --------------------------------------------------


class QuietHours:
    """No non-urgent message before 08:00 or from 21:00 local time; deferred, not lost."""

    def __init__(self, tz: tzinfo, ends: time = QUIET_ENDS, starts: time = QUIET_STARTS) -> None:
        self.tz = tz
        self.ends = ends
        self.starts = starts

    def is_quiet(self, now: datetime) -> bool:
        local = now.astimezone(self.tz).time()
        return local < self.ends or local >= self.starts

    def defer_until(self, now: datetime) -> datetime | None:
        """When a non-urgent message may go out (UTC), or None if it may go now."""
        if not self.is_quiet(now):
            return None
        local = now.astimezone(self.tz)
        day = local.date() if local.time() < self.ends else local.date() + timedelta(days=1)
        return datetime.combine(day, self.ends, tzinfo=self.tz).astimezone(UTC)


def sweep_is_due(
    calendar: WorkingCalendar,
    now: datetime,
    tz: tzinfo,
    remind_at: time,
    already_ran_today: bool,
) -> bool:
    """The day's sweep is due on a working day from QABOT_REMIND_AT until quiet hours start.

    This one rule is both the daily run and the catch-up after downtime. After 21:00 a missed
    sweep is skipped: its digests could only go out the next morning, next to that day's own.
    """
    local = now.astimezone(tz)
    return (
        not already_ran_today
        and calendar.is_working_day(local.date())
        and remind_at <= local.time() < QUIET_STARTS
    )


def next_sweep_at(
    calendar: WorkingCalendar, now: datetime, tz: tzinfo, remind_at: time
) -> datetime:
    """The next instant (UTC, strictly after `now`) at which a day's sweep is scheduled."""
    local = now.astimezone(tz)
    day = local.date()
    if local.time() >= remind_at:
        day += timedelta(days=1)
    day = calendar.next_working_day(day)
    return datetime.combine(day, remind_at, tzinfo=tz).astimezone(UTC)


# --- escalations, batched per recipient and day ---------------------------------------------

# A supervisor's daily message lists this many of the oldest items; the rest is in the 督办 list.
ESCALATION_OLDEST_SHOWN = 10
# ... and names this many officers and enterprises with the most items.
ESCALATION_TOP_NAMES = 10
# An officer's notice lists this many of their items (with a button each up to the second).
ESCALATED_NOTICE_LINES = 40
ESCALATED_NOTICE_BUTTONS = 8


class EscalationKind(StrEnum):
    COMMITMENT = "commitment"
    REPORT = "report"


@dataclass(frozen=True)
class EscalatedItem:
    """Something escalated today: what, whose, since when, and how late in working days."""

    kind: EscalationKind
    subject_id: int
    label: str
    text: str
    enterprise_id: int
    enterprise_name: str
    bureau_id: int
    officer_id: int | None
    officer_name: str
    since: date
    working_days: int
    party: Party | None = None
    # Calendar days since `since`: the unit every message shows (digests, lists, escalations);
    # the escalation rule itself counts working days.
    days: int = 0


@dataclass(frozen=True)
class EscalationSummary:
    """One recipient's escalations of a day: counts per officer and enterprise (most first),
    and every item, oldest first."""

    items: list[EscalatedItem]
    by_officer: list[tuple[str, int]]
    by_enterprise: list[tuple[str, int]]

    @property
    def oldest(self) -> list[EscalatedItem]:
        return self.items[:ESCALATION_OLDEST_SHOWN]


def oldest_first(items: list[EscalatedItem]) -> list[EscalatedItem]:
    return sorted(items, key=lambda i: (i.since, i.kind.value, i.subject_id))


def summarise_escalations(items: list[EscalatedItem]) -> EscalationSummary:
    """Count a day's escalations per officer and per enterprise; order the items oldest first."""
    officers: dict[str, int] = {}
    enterprises: dict[str, int] = {}
    for item in items:
        officers[item.officer_name] = officers.get(item.officer_name, 0) + 1
        enterprises[item.enterprise_name] = enterprises.get(item.enterprise_name, 0) + 1

    def most_first(counts: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    return EscalationSummary(oldest_first(items), most_first(officers), most_first(enterprises))


def escalation_batch_key(day: date, items: list[EscalatedItem]) -> str:
    """Per day and per set of items: a repeated sweep queues nothing again, while a second
    instance that escalated other items the same day still sends its own batch."""
    first = min((i.kind.value, i.subject_id) for i in items)
    return f"escalations:{day.isoformat()}:{first[0]}:{first[1]}:{len(items)}"
