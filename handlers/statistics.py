"""Figures for supervisors: /stats in the chat (with a chart), /export as an Excel workbook,
and the 督办 buttons that open who is late (payload "st:<step>:<id>")."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.sql import ColumnElement

from domain.commitments import is_overdue
from domain.figures import (
    CommitmentRow,
    Culprit,
    Dimension,
    GroupFigures,
    OutcomeFigures,
    OverdueRow,
    figures_by,
    overdue_board,
    totals,
)
from domain.outcomes import Solved
from domain.reports import ReportStatus
from domain.roles import SUPERVISING_ROLES, Party, Role, require_role
from handlers import outcome_views, views
from handlers.charts import PNG_MIME, ChartRow, find_cjk_font, render_chart
from handlers.messages import Button, OutgoingFile, Reply
from handlers.payloads import OverdueOfEnterprise, OverdueOfOfficer, ShowAgreement, ViewReport
from handlers.turn import Turn
from handlers.usecases.export import XLSX_MIME, build_workbook
from handlers.usecases.figures import figure_rows, fulfilment_by_enterprise
from handlers.usecases.registers import registers_by_city
from handlers.usecases.scope import enterprises_covered
from storage.models import Enterprise, Report

FLOW = OverdueOfOfficer.FLOW
CHART_ROWS = 10
# Groups and 督办 rows shown in the chat; the workbook has all of them.
GROUP_ROWS = 12
BOARD_ROWS = 10
MONTH_ROWS = 6
LISTED_ITEMS = 20


async def show_stats(turn: Turn) -> None:
    """Fulfilment figures for the supervisor's scope."""
    scope = enterprises_covered(turn.actor)
    by_status = {
        status: count
        for status, count in await turn.session.execute(
            select(Report.status, func.count(Report.id))
            .join(Enterprise, Report.enterprise_id == Enterprise.id)
            .where(scope)
            .group_by(Report.status)
        )
    }
    today = turn.today
    figures = list((await fulfilment_by_enterprise(turn.session, scope, today)).values())
    rating = await turn.session.scalar(
        select(func.avg(Report.rating))
        .join(Enterprise, Report.enterprise_id == Enterprise.id)
        .where(scope)
    )
    lines = [turn.t("stats.reports")]
    lines += [f"· {views.status_text(turn.lang, s)}: {by_status.get(s, 0)}" for s in ReportStatus]
    lines.append(
        turn.t(
            "stats.commitments",
            total=sum(f.commitments for f in figures),
            confirmed=sum(f.confirmed for f in figures),
            overdue=sum(f.overdue for f in figures),
        )
    )
    lines.append(turn.t("stats.rating", rating=f"{rating:.1f}" if rating else "—"))
    rated = sorted((f.rate, f.enterprise) for f in figures if f.rate is not None)
    if rated:
        # The weakest first: that is where a supervisor looks.
        lines.append(turn.t("stats.chart", shown=min(CHART_ROWS, len(rated)), total=len(rated)))
        lines += [f"{views.bar(rate)} {rate:4.0%} {name[:20]}" for rate, name in rated[:CHART_ROWS]]
    dimension = stats_dimension(turn)
    reports, commitments = await figure_rows(turn.session, scope, turn.core.tz)
    groups = weakest_first(figures_by(dimension, reports, commitments, turn.core.calendar, today))
    if groups:
        lines.append("")
        lines.append(turn.t(f"stats.by_{dimension.value}"))
        for number, group in enumerate(groups[:GROUP_ROWS], 1):
            lines += group_lines(turn, number, group)
    calendar = turn.core.calendar
    areas = figures_by(Dimension.AREA, reports, commitments, calendar, today)
    if areas:
        lines += ["", turn.t("stats.by_area")]
        lines += [brief_line(turn, views.areas_text(turn.lang, [g.label]), g) for g in areas]
    months = figures_by(Dimension.MONTH, reports, commitments, calendar, today)[-MONTH_ROWS:]
    if months:
        lines += ["", turn.t("stats.by_month", shown=len(months))]
        lines += [brief_line(turn, g.label, g, with_commitments=True) for g in months]
    achieved = totals(reports, [], calendar, today).outcomes
    if achieved.recorded:
        lines += ["", *outcome_lines(turn, achieved)]
    board = overdue_board(reports, commitments, today)
    buttons = []
    if board:
        lines.append("")
        lines.append(turn.t("stats.board", shown=min(BOARD_ROWS, len(board)), total=len(board)))
        for number, row in enumerate(board[:BOARD_ROWS], 1):
            lines.append(f"{number}. {board_line(turn, row)}")
            buttons.append([Button(f"{number}. {row.name[:24]}", overdue_payload(row))])
    lines += await register_lines(turn, scope, today)
    lines.append(turn.t("stats.as_of", day=today.isoformat()))
    turn.say("\n".join(lines), title=turn.t("stats.title"), buttons=buttons)
    if groups:
        chart = await asyncio.to_thread(
            render_chart,
            [chart_row(group) for group in groups],
            turn.lang,
            scope_name(turn),
            today,
            find_cjk_font(),
        )
        file_name = f"qabot-stats-{today.isoformat()}.png"
        turn.reply(
            Reply(
                text=turn.t("stats.chart_caption"),
                file=OutgoingFile(file_name=file_name, mime_type=PNG_MIME, content=chart.png),
            )
        )


async def register_lines(turn: Turn, scope: ColumnElement[bool], today: date) -> list[str]:
    """Measuring instruments overdue for verification and expired certificates, per city."""
    cities = await registers_by_city(turn.session, scope, today)
    if not cities:
        return []
    lines = ["", turn.t("stats.registers")]
    lines += [
        turn.t(
            "stats.registers.line",
            city=c.city,
            instruments=c.instruments,
            overdue=c.instruments_overdue,
            certificates=c.certificates,
            expired=c.certificates_expired,
        )
        for c in cities
    ]
    return lines


def stats_dimension(turn: Turn) -> Dimension:
    """Per city for the province (and admins), per officer for one city's supervisor."""
    actor = turn.actor
    if actor.role is Role.ADMIN or actor.bureau_is_province:
        return Dimension.CITY
    return Dimension.OFFICER


def scope_name(turn: Turn) -> str:
    if stats_dimension(turn) is Dimension.CITY:
        return turn.t("stats.province")
    bureau = turn.person.bureau if turn.person else None
    return bureau.name if bureau else ""


def weakest_first(groups: list[GroupFigures]) -> list[GroupFigures]:
    """Lowest fulfilment first (where a supervisor looks); groups with nothing due last."""
    return sorted(
        groups,
        key=lambda g: (
            g.both_sides.fulfilment is None,
            g.both_sides.fulfilment or 0.0,
            g.label,
        ),
    )


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def group_lines(turn: Turn, number: int, group: GroupFigures) -> list[str]:
    """Two lines per city or officer: the reports, then both sides' commitments."""
    rating = group.mean_rating
    return [
        turn.t(
            "stats.group_reports",
            number=number,
            name=group.label[:30] or "—",
            received=group.received,
            accept=_days(group.median_days_to_accept),
            resolve=_days(group.median_days_to_resolve),
            confirmed=_share(group.confirmed_share),
            rating="—" if rating is None else f"{rating:.1f}",
            reopened=group.reopened,
        ),
        turn.t(
            "stats.group_commitments",
            bureau_due=group.bureau.due,
            bureau_on_time=group.bureau.on_time,
            bureau_late=group.bureau.late,
            bureau_overdue=group.bureau.overdue,
            enterprise_due=group.enterprise.due,
            enterprise_on_time=group.enterprise.on_time,
            enterprise_late=group.enterprise.late,
            enterprise_overdue=group.enterprise.overdue,
        ),
        *([_group_outcome_line(turn, group.outcomes)] if group.outcomes.recorded else []),
    ]


def outcome_lines(turn: Turn, outcomes: OutcomeFigures) -> list[str]:
    """帮扶成效 over the scope: how many, confirmed, solved, the economic figure, the measures."""
    measures = [
        f"{outcome_views.measures_text(turn.lang, [m.value])} {count}"
        for m, count in outcomes.measures.items()
        if count
    ]
    return [
        turn.t(
            "stats.outcomes",
            recorded=outcomes.recorded,
            confirmed=outcomes.confirmed,
            yes=outcomes.solved[Solved.YES],
            partly=outcomes.solved[Solved.PARTLY],
            no=outcomes.solved[Solved.NO],
            wan=outcomes.economic_wan,
        ),
        turn.t(
            "stats.outcome_measures",
            measures=("、" if turn.lang == "zh_CN" else ", ").join(measures) or "—",
        ),
    ]


def _group_outcome_line(turn: Turn, outcomes: OutcomeFigures) -> str:
    return turn.t(
        "stats.group_outcomes",
        recorded=outcomes.recorded,
        confirmed=outcomes.confirmed,
        yes=outcomes.solved[Solved.YES],
        partly=outcomes.solved[Solved.PARTLY],
        no=outcomes.solved[Solved.NO],
        wan=outcomes.economic_wan,
    )


def brief_line(turn: Turn, name: str, group: GroupFigures, with_commitments: bool = False) -> str:
    """One line per service area or month."""
    line = turn.t(
        "stats.brief_reports",
        name=name,
        received=group.received,
        accept=_days(group.median_days_to_accept),
        resolve=_days(group.median_days_to_resolve),
        confirmed=_share(group.confirmed_share),
    )
    if with_commitments:
        both = group.both_sides
        line += turn.t(
            "stats.brief_commitments",
            due=both.due,
            on_time=both.on_time,
            late=both.late,
            overdue=both.overdue,
        )
    if group.outcomes.recorded:
        line += turn.t(
            "stats.brief_outcomes",
            recorded=group.outcomes.recorded,
            wan=group.outcomes.economic_wan,
        )
    return line


def board_line(turn: Turn, row: OverdueRow) -> str:
    return turn.t(
        f"stats.board_{row.kind.value}",
        name=row.name[:30],
        city=row.city,
        commitments=row.overdue_commitments,
        reports=row.unanswered_reports,
        oldest=row.oldest_on.isoformat(),
    )


def chart_row(group: GroupFigures) -> ChartRow:
    both = group.both_sides
    return ChartRow(group.label, both.due, both.on_time, both.late, group.median_days_to_accept)


def overdue_payload(row: OverdueRow) -> str:
    if row.kind is Culprit.OFFICER:
        return OverdueOfOfficer(row.subject_id).pack()
    return OverdueOfEnterprise(row.subject_id).pack()


async def open_officer(turn: Turn, pressed: OverdueOfOfficer) -> None:
    """Lists an officer's overdue bureau commitments and unanswered reports, with buttons."""
    require_role(turn.actor, *SUPERVISING_ROLES)
    officer_id = pressed.officer_id
    scope = enterprises_covered(turn.actor) & (Enterprise.officer_id == officer_id)
    reports, commitments = await figure_rows(turn.session, scope, turn.core.tz)
    today = turn.today
    waiting = [
        r for r in reports if r.officer_id == officer_id and r.status is ReportStatus.SUBMITTED
    ]
    late = [
        c for c in commitments if c.party is Party.BUREAU and is_overdue(c.status, c.due_on, today)
    ]
    if not waiting and not late:
        # Out of scope reads like nothing to show: ids cannot be probed.
        turn.say(turn.t("stats.nothing_overdue"))
        return
    name = (reports[0].officer if reports else commitments[0].officer) or "—"
    lines, buttons = [], []
    for report in sorted(waiting, key=lambda r: (r.submitted_on, r.report_id)):
        lines.append(
            turn.t(
                "stats.item_report",
                reference=report.reference,
                enterprise=report.enterprise[:30],
                since=report.submitted_on.isoformat(),
            )
        )
        buttons.append([Button(report.reference, ViewReport(report.report_id).pack())])
    lines += _commitment_lines(turn, late)
    buttons += _agreement_buttons(late)
    _say_listed(turn, turn.t("stats.officer_items", name=name[:30]), lines, buttons)


async def open_enterprise(turn: Turn, pressed: OverdueOfEnterprise) -> None:
    """Lists an enterprise's overdue commitments, with a button to its agreement."""
    require_role(turn.actor, *SUPERVISING_ROLES)
    enterprise_id = pressed.enterprise_id
    scope = enterprises_covered(turn.actor) & (Enterprise.id == enterprise_id)
    _, commitments = await figure_rows(turn.session, scope, turn.core.tz)
    late = [
        c
        for c in commitments
        if c.party is Party.ENTERPRISE and is_overdue(c.status, c.due_on, turn.today)
    ]
    if not late:
        turn.say(turn.t("stats.nothing_overdue"))
        return
    _say_listed(
        turn,
        turn.t("stats.enterprise_items", name=late[0].enterprise[:30]),
        _commitment_lines(turn, late),
        _agreement_buttons(late),
    )


def _commitment_lines(turn: Turn, late: list[CommitmentRow]) -> list[str]:
    return [
        turn.t(
            "stats.item_commitment",
            id=c.commitment_id,
            enterprise=c.enterprise[:30],
            due=c.due_on.isoformat(),
            days=(turn.today - c.due_on).days,
        )
        for c in sorted(late, key=lambda c: (c.due_on, c.commitment_id))
    ]


def _agreement_buttons(late: list[CommitmentRow]) -> list[list[Button]]:
    enterprises = dict.fromkeys((c.enterprise_id, c.enterprise) for c in late)
    return [
        [Button(name[:40], ShowAgreement(enterprise_id).pack())]
        for enterprise_id, name in enterprises
    ]


def _say_listed(turn: Turn, title: str, lines: list[str], buttons: list[list[Button]]) -> None:
    shown = lines[:LISTED_ITEMS]
    if len(lines) > LISTED_ITEMS:
        shown.append(turn.t("stats.more_items", count=len(lines) - LISTED_ITEMS))
    turn.say("\n".join(shown), title=title, buttons=buttons[:LISTED_ITEMS])


async def on_text(turn: Turn) -> None:
    turn.end()
    turn.say(turn.t("help.not_understood"))


async def on_file(turn: Turn) -> None:
    turn.say(turn.t("file.not_expected"))


BUTTONS = {
    OverdueOfOfficer: open_officer,
    OverdueOfEnterprise: open_enterprise,
}


async def send_export(turn: Turn) -> None:
    """Sends the workbook of reports, commitments and fulfilment for the person's scope."""
    content = await build_workbook(
        turn.session,
        turn.lang,
        turn.core.tz,
        turn.today,
        enterprises_covered(turn.actor),
        turn.core.calendar,
    )
    file_name = f"qabot-{turn.today.isoformat()}.xlsx"
    turn.reply(
        Reply(
            text=turn.t("export.ready", file_name=file_name),
            file=OutgoingFile(file_name=file_name, mime_type=XLSX_MIME, content=content),
        )
    )
