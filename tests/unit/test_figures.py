"""The supervisors' figures over the hand-computed fixture (tests/figures_fixture.py)."""

from __future__ import annotations

import pytest

from domain.calendar import WorkingCalendar
from domain.figures import Culprit, Dimension, GroupFigures, figures_by, overdue_board, totals
from tests.figures_fixture import TODAY, commitment_rows, d, report_rows


def by(dimension: Dimension) -> dict[str, GroupFigures]:
    groups = figures_by(dimension, report_rows(), commitment_rows(), WorkingCalendar(), TODAY)
    return {g.label: g for g in groups}


def report_figures(g: GroupFigures) -> tuple[object, ...]:
    return (
        g.received,
        g.median_days_to_accept,
        g.median_days_to_resolve,
        g.closed,
        g.confirmed,
        g.mean_rating,
        g.reopened,
    )


def sides(g: GroupFigures) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    return (
        (g.bureau.due, g.bureau.on_time, g.bureau.late, g.bureau.overdue),
        (g.enterprise.due, g.enterprise.on_time, g.enterprise.late, g.enterprise.overdue),
    )


def test_fixture_has_the_promised_size() -> None:
    assert len(report_rows()) == 60 and len(commitment_rows()) == 80
    assert len({r.officer_id for r in report_rows()}) == 6
    assert len({r.city for r in report_rows()}) == 3


class TestPerCity:
    def test_report_figures(self) -> None:
        cities = by(Dimension.CITY)
        assert list(cities) == ["宁波市", "杭州市", "温州市"]
        # Medians of working days across the National Day holiday, worked out in the fixture.
        assert report_figures(cities["杭州市"]) == (20, 2, 5, 12, 9, pytest.approx(27 / 8), 2)
        assert report_figures(cities["宁波市"]) == (20, 1, 5, 13, 11, pytest.approx(4.4), 0)
        assert report_figures(cities["温州市"]) == (20, 2, 5, 11, 9, pytest.approx(37 / 9), 2)
        assert cities["杭州市"].confirmed_share == pytest.approx(0.75)

    def test_commitments_both_sides_separately(self) -> None:
        cities = by(Dimension.CITY)
        assert sides(cities["杭州市"]) == ((13, 7, 3, 3), (13, 6, 3, 2))
        assert sides(cities["宁波市"]) == ((11, 3, 2, 6), (15, 4, 2, 7))
        assert sides(cities["温州市"]) == ((11, 4, 3, 4), (11, 4, 3, 2))
        # 7 on time + 3 late of 13 due.
        assert cities["杭州市"].bureau.fulfilment == pytest.approx(10 / 13)


class TestPerOfficer:
    def test_medians_per_officer(self) -> None:
        officers = by(Dimension.OFFICER)
        expected = {
            # received, median accept, median resolve, closed, confirmed, mean rating, reopened
            "王丽": (10, 1, 5, 7, 6, pytest.approx(4.2), 1),
            "陈刚": (10, 2, 5, 5, 3, pytest.approx(2.0), 1),
            "李强": (10, 2, 8, 6, 5, pytest.approx(4.8), 0),
            "赵敏": (10, 1, 4, 7, 6, pytest.approx(4.0), 0),
            "周杰": (10, 1, 5, 8, 8, pytest.approx(4.375), 2),
            # An even count: the median is the mean of the middle two (2 and 3).
            "吴芳": (10, 2.5, 8, 3, 1, pytest.approx(2.0), 0),
        }
        assert {name: report_figures(g) for name, g in officers.items()} == expected

    def test_commitments_per_officer(self) -> None:
        officers = by(Dimension.OFFICER)
        assert sides(officers["王丽"]) == ((7, 3, 1, 3), (6, 2, 1, 2))
        assert sides(officers["陈刚"]) == ((6, 4, 2, 0), (7, 4, 2, 0))
        assert sides(officers["李强"]) == ((6, 1, 0, 5), (8, 1, 0, 7))
        assert sides(officers["赵敏"]) == ((5, 2, 2, 1), (7, 3, 2, 0))
        assert sides(officers["周杰"]) == ((8, 4, 0, 4), (3, 2, 0, 1))
        assert sides(officers["吴芳"]) == ((3, 0, 3, 0), (8, 2, 3, 1))


class TestPerAreaAndMonth:
    def test_areas_count_a_report_in_each_of_its_areas(self) -> None:
        areas = by(Dimension.AREA)
        assert {a: g.received for a, g in areas.items()} == {
            "cert": 7,
            "met": 23,
            "std": 27,
            "test": 9,
        }
        assert (areas["std"].median_days_to_accept, areas["std"].median_days_to_resolve) == (2, 8)
        assert (areas["met"].median_days_to_accept, areas["met"].median_days_to_resolve) == (1, 4)
        # Commitments have no service area.
        assert areas["std"].bureau.due == 0 and areas["std"].enterprise.due == 0

    def test_months_by_submission_and_by_due_date(self) -> None:
        months = by(Dimension.MONTH)
        assert {m: g.received for m, g in months.items()} == {
            "2026-09": 28,
            "2026-10": 13,
            "2026-11": 19,
            "2026-12": 0,
        }
        assert (
            months["2026-10"].median_days_to_accept,
            months["2026-10"].median_days_to_resolve,
        ) == (0, 5)
        assert (
            months["2026-11"].median_days_to_accept,
            months["2026-11"].median_days_to_resolve,
        ) == (3, None)
        assert sides(months["2026-10"]) == ((22, 14, 8, 0), (0, 0, 0, 0))
        # Due in December but done early already: due, and on time.
        assert sides(months["2026-12"]) == ((0, 0, 0, 0), (5, 5, 0, 0))


def test_totals_over_the_scope() -> None:
    whole = totals(report_rows(), commitment_rows(), WorkingCalendar(), TODAY)
    assert (whole.received, whole.closed, whole.confirmed, whole.reopened) == (60, 36, 29, 4)
    assert whole.bureau.due + whole.enterprise.due == 13 + 13 + 11 + 15 + 11 + 11


def test_overdue_board_order() -> None:
    board = overdue_board(report_rows(), commitment_rows(), TODAY)
    assert [(r.kind, r.name, r.overdue_commitments, r.unanswered_reports) for r in board] == [
        (Culprit.OFFICER, "李强", 5, 3),
        # Four items each: the one waiting longest first (11-02, 11-20, 11-24, 11-25).
        (Culprit.OFFICER, "王丽", 3, 1),
        (Culprit.OFFICER, "周杰", 4, 0),
        (Culprit.OFFICER, "吴芳", 0, 4),
        (Culprit.ENTERPRISE, "宁波北仑", 4, 0),
        (Culprit.ENTERPRISE, "宁波海曙", 3, 0),
        (Culprit.OFFICER, "陈刚", 0, 2),
        (Culprit.ENTERPRISE, "杭州精工", 2, 0),
        (Culprit.OFFICER, "赵敏", 1, 0),
        (Culprit.ENTERPRISE, "温州泵阀", 1, 0),
        (Culprit.ENTERPRISE, "温州锁业", 1, 0),
    ]
    assert board[1].oldest_due_on == d("11-02") and board[3].oldest_unanswered_on == d("11-24")
