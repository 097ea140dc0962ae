"""Figures for supervisors: /stats in the chat, /export as an Excel workbook."""

from __future__ import annotations

from sqlalchemy import func, select

from domain.reports import ReportStatus
from handlers import views
from handlers.messages import OutgoingFile, Reply
from handlers.turn import Turn
from handlers.usecases.export import XLSX_MIME, build_workbook
from handlers.usecases.figures import fulfilment_by_enterprise
from handlers.usecases.scope import enterprises_covered
from storage.models import Enterprise, Report

CHART_ROWS = 10


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
    lines.append(turn.t("stats.as_of", day=today.isoformat()))
    turn.say("\n".join(lines), title=turn.t("stats.title"))


async def send_export(turn: Turn) -> None:
    """Sends the workbook of reports, commitments and fulfilment for the person's scope."""
    content = await build_workbook(
        turn.session, turn.lang, turn.core.tz, turn.today, enterprises_covered(turn.actor)
    )
    file_name = f"qabot-{turn.today.isoformat()}.xlsx"
    turn.reply(
        Reply(
            text=turn.t("export.ready", file_name=file_name),
            file=OutgoingFile(file_name=file_name, mime_type=XLSX_MIME, content=content),
        )
    )
