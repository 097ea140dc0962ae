"""The supervisor's workbook: reports, commitments, fulfilment per enterprise, and the figures
per city, officer, service area and month with the 督办 list (every cell through safe_cell)."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import WorkingCalendar
from domain.commitments import is_overdue, overdue_days
from domain.figures import Dimension, GroupFigures, OverdueRow, figures_by, overdue_board
from domain.outcomes import Measure, Solved
from domain.reports import ReportStatus
from handlers.i18n import translate as t
from handlers.usecases.cells import CellValue, append_row
from handlers.usecases.figures import Fulfilment, figure_rows, fulfilment_by_enterprise
from handlers.usecases.registers import CityRegisters, registers_by_city
from handlers.views import areas_text, status_text
from storage.models import Bureau, Commitment, Enterprise, Person, Report

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class _ReportFigures:
    reports: int = 0
    closed: int = 0
    ratings: list[int] = field(default_factory=list)


def _local(instant: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A local date-and-time cell (Excel has no time zones), to the minute."""
    if instant is None:
        return None
    return instant.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


async def build_workbook(
    session: AsyncSession,
    lang: str,
    tz: ZoneInfo,
    today: date,
    scope: ColumnElement[bool] | None = None,
    calendar: WorkingCalendar | None = None,
) -> bytes:
    """Return the .xlsx bytes for every enterprise matching `scope` (all when None)."""
    calendar = calendar or WorkingCalendar()
    scope = true() if scope is None else scope
    rows = await session.execute(
        select(Enterprise, Bureau, Person)
        .join(Bureau, Enterprise.bureau_id == Bureau.id)
        .outerjoin(Person, Enterprise.officer_id == Person.id)
        .where(scope)
        .order_by(Bureau.name, Enterprise.name)
    )
    enterprises = {e.id: (e, b, p) for e, b, p in rows}
    figures: dict[int, _ReportFigures] = defaultdict(_ReportFigures)
    book = Workbook()

    reports_sheet = book.active
    assert isinstance(reports_sheet, Worksheet)
    reports_sheet.title = t(lang, "export.sheet.reports")
    _header(
        reports_sheet,
        lang,
        [
            "reference",
            "enterprise",
            "city",
            "areas",
            "product",
            "urgency",
            "status",
            "submitted",
            "accepted",
            "resolved",
            "closed",
            "rating",
            "officer",
            "research",
        ],
    )
    reports = await session.scalars(
        select(Report).where(Report.enterprise_id.in_(enterprises)).order_by(Report.submitted_at)
    )
    for report in reports:
        enterprise, bureau, officer = enterprises[report.enterprise_id]
        figure = figures[enterprise.id]
        figure.reports += 1
        figure.closed += report.status in (ReportStatus.CLOSED, ReportStatus.CLOSED_UNCONFIRMED)
        if report.rating:
            figure.ratings.append(report.rating)
        append_row(
            reports_sheet,
            [
                report.reference,
                enterprise.name,
                bureau.name,
                areas_text(lang, report.areas),
                report.product,
                t(lang, f"urgency.{report.urgency.value}"),
                status_text(lang, report.status),
                _local(report.submitted_at, tz),
                _local(report.accepted_at, tz),
                _local(report.resolved_at, tz),
                _local(report.closed_at, tz),
                report.rating or "",
                officer.name if officer else "",
                report.research_reason or "",
            ],
        )

    commitments_sheet = book.create_sheet(t(lang, "export.sheet.commitments"))
    _header(
        commitments_sheet,
        lang,
        [
            "id",
            "enterprise",
            "city",
            "party",
            "text",
            "due",
            "status",
            "done",
            "confirmed",
            "overdue_days",
        ],
    )
    commitments = await session.scalars(
        select(Commitment)
        .where(Commitment.enterprise_id.in_(enterprises))
        .order_by(Commitment.due_on)
    )
    for commitment in commitments:
        enterprise, bureau, _ = enterprises[commitment.enterprise_id]
        late = is_overdue(commitment.status, commitment.due_on, today)
        append_row(
            commitments_sheet,
            [
                commitment.id,
                enterprise.name,
                bureau.name,
                t(lang, f"party.{commitment.party.value}"),
                commitment.text,
                commitment.due_on,
                t(lang, f"commitment.status.{commitment.status.value}"),
                _local(commitment.done_at, tz),
                _local(commitment.confirmed_at, tz),
                overdue_days(commitment.due_on, today) if late else "",
            ],
        )

    stats_sheet = book.create_sheet(t(lang, "export.sheet.fulfilment"))
    _header(
        stats_sheet,
        lang,
        [
            "enterprise",
            "city",
            "industry",
            "officer",
            "commitments",
            "confirmed_count",
            "overdue",
            "fulfilment_rate",
            "reports",
            "closed_count",
            "rating",
        ],
    )
    fulfilment = await fulfilment_by_enterprise(session, scope, today)
    for enterprise, bureau, officer in enterprises.values():
        figure = figures[enterprise.id]
        kept = fulfilment.get(enterprise.id) or Fulfilment(enterprise.name)
        rate = kept.rate
        rating = sum(figure.ratings) / len(figure.ratings) if figure.ratings else None
        append_row(
            stats_sheet,
            [
                enterprise.name,
                bureau.name,
                _industry(enterprise),
                officer.name if officer else "",
                kept.commitments,
                kept.confirmed,
                kept.overdue,
                rate if rate is not None else "",
                figure.reports,
                figure.closed,
                round(rating, 2) if rating is not None else "",
            ],
        )
        if rate is not None:
            stats_sheet.cell(stats_sheet.max_row, 8).number_format = "0.0%"

    if stats_sheet.max_row > 1:
        _add_rate_chart(stats_sheet, lang)

    report_rows, commitment_rows = await figure_rows(session, scope, tz)
    for dimension in Dimension:
        groups = figures_by(dimension, report_rows, commitment_rows, calendar, today)
        _figures_sheet(book, lang, dimension, groups)
    _board_sheet(book, lang, overdue_board(report_rows, commitment_rows, today))
    _registers_sheet(book, lang, await registers_by_city(session, scope, today))
    for sheet in book.worksheets:
        if sheet.max_row > 1:
            sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _add_rate_chart(sheet: Worksheet, lang: str) -> None:
    """A bar chart of the fulfilment rate per enterprise, beside the table."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = t(lang, "export.column.fulfilment_rate")
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.legend = None
    rows = sheet.max_row
    chart.add_data(Reference(sheet, min_col=8, min_row=1, max_row=rows), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows))
    chart.height = max(7.5, 0.6 * rows)
    sheet.add_chart(chart, "L2")


FIGURE_COLUMNS = [
    "received",
    "median_accept",
    "median_resolve",
    "closed_count",
    "confirmed_share",
    "mean_rating",
    "reopened",
    "bureau_due",
    "bureau_on_time",
    "bureau_late",
    "bureau_overdue",
    "bureau_fulfilment",
    "enterprise_due",
    "enterprise_on_time",
    "enterprise_late",
    "enterprise_overdue",
    "enterprise_fulfilment",
    # 帮扶成效 (appended: the columns above keep their places for the charts).
    "outcomes",
    "outcomes_confirmed",
    "solved_yes",
    "solved_partly",
    "solved_no",
    *(f"measure_{m.value}" for m in Measure),
    "economic_wan",
]
_PERCENT_COLUMNS = (6, 13, 18)


def _figures_sheet(
    book: Workbook, lang: str, dimension: Dimension, groups: list[GroupFigures]
) -> None:
    """One row of every figure per city, officer, service area or month."""
    sheet = book.create_sheet(t(lang, f"export.sheet.by_{dimension.value}"))
    _header(sheet, lang, [dimension.value, *FIGURE_COLUMNS])
    for group in groups:
        label = t(lang, f"area.{group.label}") if dimension is Dimension.AREA else group.label
        row = append_row(sheet, [label, *_figure_values(group)])
        for column in _PERCENT_COLUMNS:
            sheet.cell(row, column).number_format = "0.0%"
    if not groups:
        return
    if dimension in (Dimension.CITY, Dimension.OFFICER):
        chart = BarChart()
        chart.type = "bar"
        chart.title = t(lang, "chart.fulfilment")
        chart.y_axis.number_format = "0%"
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
        rows = sheet.max_row
        for column in (13, 18):
            data = Reference(sheet, min_col=column, min_row=1, max_row=rows)
            chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows))
        chart.height = max(7.5, 0.8 * rows)
        sheet.add_chart(chart, "T2")
        accept = BarChart()
        accept.type = "bar"
        accept.title = t(lang, "chart.days_to_accept")
        accept.legend = None
        accept.add_data(Reference(sheet, min_col=3, min_row=1, max_row=rows), titles_from_data=True)
        accept.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows))
        accept.height = max(7.5, 0.8 * rows)
        sheet.add_chart(accept, "T20" if rows < 20 else f"T{rows + 4}")
    elif dimension is Dimension.MONTH:
        chart = LineChart()
        chart.title = t(lang, "export.chart.per_month")
        rows = sheet.max_row
        for column in (2, 9, 14):
            chart.add_data(
                Reference(sheet, min_col=column, min_row=1, max_row=rows), titles_from_data=True
            )
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows))
        sheet.add_chart(chart, "T2")


def _figure_values(group: GroupFigures) -> list[CellValue]:
    rating = group.mean_rating
    values: list[CellValue] = [
        group.received,
        group.median_days_to_accept,
        group.median_days_to_resolve,
        group.closed,
        group.confirmed_share,
        round(rating, 2) if rating is not None else None,
        group.reopened,
    ]
    for side in (group.bureau, group.enterprise):
        values += [side.due, side.on_time, side.late, side.overdue, side.fulfilment]
    outcomes = group.outcomes
    values += [outcomes.recorded, outcomes.confirmed, *(outcomes.solved[s] for s in Solved)]
    values += [outcomes.measures[m] for m in Measure]
    values.append(float(outcomes.economic_wan))
    return values


def _board_sheet(book: Workbook, lang: str, board: list[OverdueRow]) -> None:
    """The 督办 list: who has the most overdue items, oldest first among equals."""
    sheet = book.create_sheet(t(lang, "export.sheet.board"))
    _header(
        sheet,
        lang,
        [
            "kind",
            "name",
            "city",
            "overdue_commitments",
            "unanswered_reports",
            "oldest_due",
            "oldest_unanswered",
        ],
    )
    for row in board:
        append_row(
            sheet,
            [
                t(lang, f"export.kind.{row.kind.value}"),
                row.name,
                row.city,
                row.overdue_commitments,
                row.unanswered_reports,
                row.oldest_due_on,
                row.oldest_unanswered_on,
            ],
        )


def _industry(enterprise: Enterprise) -> str:
    """GB/T 4754 code and name, as far as known ("C3443 阀门和旋塞制造")."""
    return " ".join(p for p in (enterprise.industry_code, enterprise.industry_name) if p)


def _registers_sheet(book: Workbook, lang: str, cities: list[CityRegisters]) -> None:
    """Measuring instruments overdue for verification and expired certificates, per city
    (no sheet where no enterprise in scope keeps a register)."""
    if not cities:
        return
    sheet = book.create_sheet(t(lang, "export.sheet.registers"))
    _header(
        sheet,
        lang,
        ["city", "instruments", "instruments_overdue", "certificates", "certificates_expired"],
    )
    for city in cities:
        append_row(
            sheet,
            [
                city.city,
                city.instruments,
                city.instruments_overdue,
                city.certificates,
                city.certificates_expired,
            ],
        )


def _header(sheet: Worksheet, lang: str, columns: list[str]) -> None:
    append_row(sheet, [t(lang, f"export.column.{c}") for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, 1):
        wide = column in ("enterprise", "product", "text", "areas", "research")
        sheet.column_dimensions[get_column_letter(index)].width = 36 if wide else 16
