"""Three cities, six officers, 60 reports and 80 commitments whose figures were worked out
by hand (tests/unit/test_figures.py lists them), as plain rows and as database rows.

"Today" is Monday 2026-11-30. Working days around the National Day holiday of 2026
(chinese-calendar): 09-24 Thu W, 09-25 Fri holiday (Mid-Autumn), 09-26/27 weekend,
09-28..30 W, 10-01..07 holiday, 10-08/09 W, 10-10 Sat W (调休), 10-11 Sun, 10-12..16 W.

Report templates: (submitted, accepted, resolved) → working days to accept / to resolve
  T1 09-30, 10-09, 10-16 → 2 (10-08, 10-09) / 8 (10-08 10-09 10-10 10-12..16)
  T2 09-29, 09-30, 10-12 → 1 / 5 (09-30 10-08 10-09 10-10 10-12)
  T3 10-09, 10-12, 10-14 → 2 (10-10 10-12) / 4 (10-10 10-12 10-13 10-14)
  T4 10-13, 10-13, 10-20 → 0 / 5 (10-14 10-15 10-16 10-19 10-20)
  T5 11-02, 11-05, —     → 3 / —          (accepted, still open)
  T6 11-24, —, —         → — / —          (not accepted: unanswered)
  T7 09-24, 09-28, 10-08 → 1 (09-25 is a holiday) / 4 (09-28 09-29 09-30 10-08)
Outcome after ":": a digit = closed, confirmed and rated; c = closed, confirmed, no rating;
u = closed without the enterprise's answer; r = resolved, waiting; "*" = reopened once before.

Commitment templates (party, due, done):
  K1 bureau 10-09 done 10-09 (on time)   K2 bureau 10-09 done 10-12 (late)
  K3 bureau 11-20 open (overdue)         K4 bureau 12-10 open (not due yet)
  K10 bureau 11-02 open (overdue)
  K5 enterprise 11-10 done 11-03 (on time)  K6 enterprise 11-10 done 11-16 (late)
  K7 enterprise 11-25 open (overdue)        K8 enterprise 11-30 open (due today, not overdue)
  K9 enterprise 12-20 done 11-26 (early: due and on time)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.commitments import CommitmentStatus
from domain.figures import CommitmentRow, ReportRow
from domain.reports import ReportStatus, Urgency
from domain.roles import Party, Role

TODAY = date(2026, 11, 30)
TZ = ZoneInfo("Asia/Shanghai")


def d(month_day: str) -> date:
    month, day = month_day.split("-")
    return date(2026, int(month), int(day))


REPORT_TEMPLATES: dict[str, tuple[str, str | None, str | None, tuple[str, ...]]] = {
    "T1": ("09-30", "10-09", "10-16", ("std",)),
    "T2": ("09-29", "09-30", "10-12", ("met",)),
    "T3": ("10-09", "10-12", "10-14", ("std", "met")),
    "T4": ("10-13", "10-13", "10-20", ("cert",)),
    "T5": ("11-02", "11-05", None, ("test",)),
    "T6": ("11-24", None, None, ("std",)),
    "T7": ("09-24", "09-28", "10-08", ("met",)),
}

COMMITMENT_TEMPLATES: dict[str, tuple[Party, str, str | None]] = {
    "K1": (Party.BUREAU, "10-09", "10-09"),
    "K2": (Party.BUREAU, "10-09", "10-12"),
    "K3": (Party.BUREAU, "11-20", None),
    "K4": (Party.BUREAU, "12-10", None),
    "K10": (Party.BUREAU, "11-02", None),
    "K5": (Party.ENTERPRISE, "11-10", "11-03"),
    "K6": (Party.ENTERPRISE, "11-10", "11-16"),
    "K7": (Party.ENTERPRISE, "11-25", None),
    "K8": (Party.ENTERPRISE, "11-30", None),
    "K9": (Party.ENTERPRISE, "12-20", "11-26"),
}


@dataclass(frozen=True)
class OfficerSpec:
    officer_id: int
    name: str
    city: str
    # Two enterprises: (id, name) each.
    enterprises: tuple[tuple[int, str], tuple[int, str]]
    reports: str
    commitments_a: str
    commitments_b: str


OFFICERS = [
    OfficerSpec(
        1, "王丽", "杭州市", ((101, "杭州精工"), (102, "杭州精密")),
        "T1:5 T1:4* T2:u T3:5 T4:r T5 T6 T7:3 T7:c T2:4",
        "K1 K1 K2 K3 K5 K7 K7 K8", "K4 K6 K9 K10 K3 K1",
    ),
    OfficerSpec(
        2, "陈刚", "杭州市", ((103, "杭州电机"), (104, "杭州阀门")),
        "T4:2 T4:1 T5 T5 T6 T6 T3:u T3:u* T1:r T2:3",
        "K1 K1 K1 K1 K5 K5 K5 K5", "K2 K2 K6 K6 K4 K8",
    ),
    OfficerSpec(
        3, "李强", "宁波市", ((105, "宁波海曙"), (106, "宁波北仑")),
        "T1:5 T1:5 T1:5 T1:4 T1:u T6 T6 T6 T5 T2:5",
        "K3 K3 K3 K10 K10 K7 K7 K7", "K7 K7 K7 K7 K1 K9",
    ),
    OfficerSpec(
        4, "赵敏", "宁波市", ((107, "宁波模具"), (108, "宁波轴承")),
        "T7:4 T7:4 T7:4 T7:4 T7:4 T7:u T4:r T4:r T3:c T5",
        "K1 K2 K5 K6 K8 K4 K4", "K1 K2 K5 K6 K8 K9 K3",
    ),
    OfficerSpec(
        5, "周杰", "温州市", ((109, "温州鞋业"), (110, "温州泵阀")),
        "T2:5* T2:5* T2:4 T3:3 T3:3 T4:5 T4:5 T5 T7:r T1:5",
        "K3 K3 K3 K3 K5 K5", "K7 K1 K1 K1 K1 K4",
    ),
    OfficerSpec(
        6, "吴芳", "温州市", ((111, "温州眼镜"), (112, "温州锁业")),
        "T6 T6 T6 T6 T5 T5 T5 T1:u T1:u T7:2",
        "K2 K2 K2 K6 K6 K6", "K8 K8 K9 K9 K4 K7",
    ),
]


def _outcome(code: str) -> tuple[ReportStatus, int | None, int]:
    reopened = code.count("*")
    code = code.rstrip("*")
    if code.isdigit():
        return ReportStatus.CLOSED, int(code), reopened
    status = {
        "c": ReportStatus.CLOSED,
        "u": ReportStatus.CLOSED_UNCONFIRMED,
        "r": ReportStatus.RESOLVED,
    }[code]
    return status, None, reopened


def report_rows() -> list[ReportRow]:
    rows: list[ReportRow] = []
    for officer in OFFICERS:
        for index, item in enumerate(officer.reports.split()):
            template, _, outcome = item.partition(":")
            submitted, accepted, resolved, areas = REPORT_TEMPLATES[template]
            if outcome:
                status, rating, reopened = _outcome(outcome)
            else:
                status = ReportStatus.ACCEPTED if accepted else ReportStatus.SUBMITTED
                rating, reopened = None, 0
            # Reports go alternately to the officer's two enterprises.
            enterprise_id, enterprise = officer.enterprises[index % 2]
            report_id = officer.officer_id * 100 + index
            rows.append(
                ReportRow(
                    report_id=report_id,
                    reference=f"QP-2026-{report_id:04d}",
                    enterprise_id=enterprise_id,
                    enterprise=enterprise,
                    city=officer.city,
                    officer_id=officer.officer_id,
                    officer=officer.name,
                    areas=areas,
                    status=status,
                    submitted_on=d(submitted),
                    accepted_on=d(accepted) if accepted else None,
                    resolved_on=d(resolved) if resolved and outcome else None,
                    rating=rating,
                    reopened=reopened,
                )
            )
    return rows


def commitment_rows() -> list[CommitmentRow]:
    rows: list[CommitmentRow] = []
    for officer in OFFICERS:
        for (enterprise_id, enterprise), codes in zip(
            officer.enterprises, (officer.commitments_a, officer.commitments_b), strict=True
        ):
            for code in codes.split():
                party, due, done = COMMITMENT_TEMPLATES[code]
                status = CommitmentStatus.OPEN
                if done is not None:
                    # Marked done; confirmed or waiting makes no difference to the figures.
                    status = (
                        CommitmentStatus.CONFIRMED
                        if len(rows) % 2
                        else CommitmentStatus.AWAITING_CONFIRMATION
                    )
                rows.append(
                    CommitmentRow(
                        commitment_id=len(rows) + 1,
                        enterprise_id=enterprise_id,
                        enterprise=enterprise,
                        city=officer.city,
                        officer_id=officer.officer_id,
                        officer=officer.name,
                        party=party,
                        status=status,
                        due_on=d(due),
                        done_on=d(done) if done else None,
                    )
                )
    return rows


def local_instant(day: date, at: time = time(10, 0)) -> datetime:
    return datetime.combine(day, at, tzinfo=TZ).astimezone(UTC)


@dataclass
class StoredFixture:
    """Database ids of the fixture's people, by the plain fixture's ids."""

    officers: dict[int, int]
    enterprises: dict[int, int]
    supervisors: dict[str, tuple[int, str]]


async def store_fixture(session, now: datetime) -> StoredFixture:  # type: ignore[no-untyped-def]
    """Write the fixture into a migrated database: bureaus, people, enterprises, rows."""
    from domain.roles import Role as _Role
    from handlers.usecases.people import add_enterprise, add_officer
    from storage.models import Agreement, Commitment, Person, Report, ReportEvent

    supervisors = {}
    for city in ("杭州市", "宁波市", "温州市"):
        person, code = await add_officer(session, f"{city}领导", city, _Role.SUPERVISOR, now)
        supervisors[city] = (person.id, code)
    person, code = await add_officer(session, "省局领导", "省局", Role.SUPERVISOR, now)
    supervisors["省局"] = (person.id, code)
    officers, enterprises, staff, agreements = {}, {}, {}, {}
    for spec in OFFICERS:
        officer, _ = await add_officer(session, spec.name, spec.city, Role.OFFICER, now)
        officers[spec.officer_id] = officer.id
        for plain_id, name in spec.enterprises:
            enterprise, _ = await add_enterprise(session, name, spec.city, officer.id, None, now)
            enterprises[plain_id] = enterprise.id
            reporter = Person(
                name=f"{name}质量部", role=Role.STAFF, enterprise_id=enterprise.id, created_at=now
            )
            agreement = Agreement(enterprise_id=enterprise.id, created_at=now)
            session.add_all([reporter, agreement])
            await session.flush()
            staff[plain_id], agreements[plain_id] = reporter.id, agreement.id
    for row in report_rows():
        report = Report(
            reference=row.reference,
            enterprise_id=enterprises[row.enterprise_id],
            reporter_id=staff[row.enterprise_id],
            officer_id=officers[row.officer_id or 0],
            areas=list(row.areas),
            product="M8 螺栓",
            description="尺寸超差",
            urgency=Urgency.NORMAL,
            status=row.status,
            submitted_at=local_instant(row.submitted_on, time(16, 30)),
            accepted_at=local_instant(row.accepted_on) if row.accepted_on else None,
            resolved_at=local_instant(row.resolved_on) if row.resolved_on else None,
            closed_at=local_instant(row.resolved_on + timedelta(days=1))
            if row.status in (ReportStatus.CLOSED, ReportStatus.CLOSED_UNCONFIRMED)
            and row.resolved_on
            else None,
            rating=row.rating,
        )
        session.add(report)
        await session.flush()
        for _ in range(row.reopened):
            session.add(
                ReportEvent(
                    report_id=report.id,
                    at=report.submitted_at,
                    kind="reject_solution",
                    detail={},
                )
            )
    for item in commitment_rows():
        session.add(
            Commitment(
                agreement_id=agreements[item.enterprise_id],
                enterprise_id=enterprises[item.enterprise_id],
                party=item.party,
                text=f"承诺 {item.commitment_id}",
                due_on=item.due_on,
                status=item.status,
                # 07:30 in Shanghai is the day before in UTC: the local day must count.
                done_at=local_instant(item.done_on, time(7, 30)) if item.done_on else None,
                created_at=now,
            )
        )
    await session.flush()
    return StoredFixture(officers, enterprises, supervisors)
