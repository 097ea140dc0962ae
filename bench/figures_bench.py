"""How long the supervisors' figures take at a province's size (provisional, pure functions).

    .venv/bin/python bench/figures_bench.py

10,000 reports and 30,000 commitments over 11 cities and 140 officers: the four groupings
(city, officer, area, month), the 督办 list, and the chart of 11 cities.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.calendar import WorkingCalendar  # noqa: E402
from domain.commitments import CommitmentStatus  # noqa: E402
from domain.figures import (  # noqa: E402
    CommitmentRow,
    Dimension,
    ReportRow,
    figures_by,
    overdue_board,
)
from domain.reports import ReportStatus  # noqa: E402
from domain.roles import Party  # noqa: E402
from handlers.charts import ChartRow, find_cjk_font, render_chart  # noqa: E402

TODAY = date(2026, 11, 30)


def rows() -> tuple[list[ReportRow], list[CommitmentRow]]:
    chance = random.Random(1)
    reports = []
    for i in range(10_000):
        submitted = date(2026, 1, 1) + timedelta(days=chance.randrange(330))
        accepted = submitted + timedelta(days=chance.randrange(10))
        resolved = accepted + timedelta(days=chance.randrange(30))
        reports.append(
            ReportRow(i, f"QP-{i}", i, f"e{i}", f"c{i % 11}", i % 140, f"o{i % 140}",
                      ("std", "met"), ReportStatus.CLOSED, submitted, accepted, resolved, 4)
        )
    commitments = []
    for i in range(30_000):
        due = date(2026, 1, 1) + timedelta(days=chance.randrange(400))
        party = Party.BUREAU if i % 2 else Party.ENTERPRISE
        commitments.append(
            CommitmentRow(i, i % 10_000, f"e{i}", f"c{i % 11}", i % 140, f"o{i % 140}",
                          party, CommitmentStatus.OPEN, due)
        )
    return reports, commitments


def main() -> None:
    reports, commitments = rows()
    calendar = WorkingCalendar()
    started = time.perf_counter()
    cities = []
    for dimension in Dimension:
        groups = figures_by(dimension, reports, commitments, calendar, TODAY)
        cities = groups if dimension is Dimension.CITY else cities
    overdue_board(reports, commitments, TODAY)
    figures = time.perf_counter() - started
    started = time.perf_counter()
    chart_rows = [
        ChartRow(g.label, g.both_sides.due, g.both_sides.on_time, g.both_sides.late,
                 g.median_days_to_accept)
        for g in cities
    ]
    render_chart(chart_rows, "zh_CN", "全省", TODAY, find_cjk_font())
    chart = time.perf_counter() - started
    print(f"figures (4 groupings + 督办): {figures * 1000:.0f} ms; chart: {chart * 1000:.0f} ms")


if __name__ == "__main__":
    main()
