"""帮扶成效 summed per city, service area and month over a small hand-computed fixture."""

from __future__ import annotations

from datetime import date

from domain.calendar import WorkingCalendar
from domain.figures import Dimension, GroupFigures, OutcomeRow, ReportRow, figures_by, totals
from domain.outcomes import Measure, Solved
from domain.reports import ReportStatus

M = Measure
TODAY = date(2026, 12, 1)


def _report(
    number: int, city: str, areas: tuple[str, ...], month: int, outcome: OutcomeRow | None
) -> ReportRow:
    return ReportRow(
        report_id=number,
        reference=f"ZJ-2026-{number:04d}",
        enterprise_id=number,
        enterprise=f"企业{number}",
        city=city,
        officer_id=10 + number % 2,
        officer=f"officer{number % 2}",
        areas=areas,
        status=ReportStatus.CLOSED if outcome else ReportStatus.ACCEPTED,
        submitted_on=date(2026, month, 3),
        outcome=outcome,
    )


# Five reports, four with an outcome:
#   1 杭州 std+met  Oct  yes    std,met   12.5 万元  confirmed
#   2 杭州 met      Nov  partly met       0.03 万元  not confirmed
#   3 宁波 std      Oct  no     (none)    —          confirmed
#   4 宁波 cert     Nov  partly cert,qms  100 万元   confirmed
#   5 宁波 std      Nov  no outcome (still open)
REPORTS = [
    _report(
        1,
        "杭州市",
        ("std", "met"),
        10,
        OutcomeRow(Solved.YES, (M.STANDARD, M.INSTRUMENTS), 125_000, True),
    ),
    _report(2, "杭州市", ("met",), 11, OutcomeRow(Solved.PARTLY, (M.INSTRUMENTS,), 300, False)),
    _report(3, "宁波市", ("std",), 10, OutcomeRow(Solved.NO, (), None, True)),
    _report(
        4,
        "宁波市",
        ("cert",),
        11,
        OutcomeRow(Solved.PARTLY, (M.CERTIFICATION, M.MANAGEMENT), 1_000_000, True),
    ),
    _report(5, "宁波市", ("std",), 11, None),
]


def outcomes_of(dimension: Dimension) -> dict[str, GroupFigures]:
    groups = figures_by(dimension, REPORTS, [], WorkingCalendar(), TODAY)
    return {g.label: g for g in groups}


def summary(g: GroupFigures) -> tuple[object, ...]:
    o = g.outcomes
    return (
        o.recorded,
        o.confirmed,
        o.solved[Solved.YES],
        o.solved[Solved.PARTLY],
        o.solved[Solved.NO],
        o.economic_wan,
    )


def test_per_city() -> None:
    cities = outcomes_of(Dimension.CITY)
    assert summary(cities["杭州市"]) == (2, 1, 1, 1, 0, "12.53")
    assert summary(cities["宁波市"]) == (2, 2, 0, 1, 1, "100")
    assert cities["杭州市"].outcomes.measures[M.INSTRUMENTS] == 2
    assert cities["杭州市"].outcomes.measures[M.STANDARD] == 1
    assert cities["宁波市"].outcomes.measures[M.MANAGEMENT] == 1
    assert cities["宁波市"].outcomes.measures[M.STANDARD] == 0
    # The open report counts as received but adds no outcome.
    assert cities["宁波市"].received == 3


def test_per_area_counts_a_report_in_each_of_its_areas() -> None:
    areas = outcomes_of(Dimension.AREA)
    assert summary(areas["std"]) == (2, 2, 1, 0, 1, "12.5")
    assert summary(areas["met"]) == (2, 1, 1, 1, 0, "12.53")
    assert summary(areas["cert"]) == (1, 1, 0, 1, 0, "100")


def test_per_month_of_submission() -> None:
    months = outcomes_of(Dimension.MONTH)
    assert summary(months["2026-10"]) == (2, 2, 1, 0, 1, "12.5")
    assert summary(months["2026-11"]) == (2, 1, 0, 2, 0, "100.03")


def test_totals_and_every_measure() -> None:
    whole = totals(REPORTS, [], WorkingCalendar(), TODAY).outcomes
    assert (whole.recorded, whole.confirmed, whole.economic_yuan) == (4, 3, 1_125_300)
    assert whole.economic_wan == "112.53"
    assert whole.measures == {
        M.STANDARD: 1,
        M.INSTRUMENTS: 2,
        M.CERTIFICATION: 1,
        M.TEST_CAPABILITY: 0,
        M.MANAGEMENT: 1,
        M.OTHER: 0,
    }
