"""Finding reports: /search, a typed reference, the closed reports; all within scope."""

from __future__ import annotations

import re

from sqlalchemy import Integer, Text, column, func, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from domain.references import format_reference
from domain.reports import CLOSED_STATUSES
from domain.roles import BUREAU_ROLES, Actor, require_role
from domain.search_text import MAX_QUERY, fold, fts_phrase, search_tokens
from handlers.usecases.scope import enterprises_covered
from storage.models import SEARCH_INDEX, Enterprise, Report

# SQLite's FTS5 index of Report.search_text (storage.models.SEARCH_INDEX).
_FTS = table(SEARCH_INDEX, column("rowid", Integer), column("search_text", Text))
# QP-2026-0002, qp 2026 0002, qp20260002, 2026-0002, 2026-2
_REFERENCE = re.compile(r"(?:qp)?[\s-]*(\d{4})[\s-]*(\d{1,6})", re.IGNORECASE)


def typed_reference(text: str) -> str | None:
    """The report reference a whole typed text names, in its canonical form, or None."""
    match = _REFERENCE.fullmatch(text.strip())
    if match is None:
        return None
    year, number = int(match[1]), int(match[2])
    compact = text.strip().lower().startswith("qp") or "-" in text or " " in text.strip()
    if not compact and len(match[2]) != 4:
        return None  # "20262" is a number, not a reference
    return format_reference(year, number)


async def report_by_reference(session: AsyncSession, actor: Actor, reference: str) -> Report | None:
    """The report with this reference if the actor may see it; otherwise None, alike."""
    return await session.scalar(
        select(Report)
        .join(Enterprise, Report.enterprise_id == Enterprise.id)
        .where(Report.reference == reference, enterprises_covered(actor))
    )


async def search_reports(
    session: AsyncSession, actor: Actor, text: str, offset: int = 0, limit: int = 10
) -> list[tuple[Report, Enterprise]]:
    """Reports in scope whose reference, enterprise, product or description contain the
    text; most recent (highest number) first.

    Each kind of match walks its candidates newest first and stops at the page: a common
    word stops early, a rare one has few candidates (bench/search_bench.py).
    """
    require_role(actor, *BUREAU_ROLES)
    phrase = fts_phrase(text)
    if phrase is None:
        return []
    wanted = offset + limit
    if session.get_bind().dialect.name == "sqlite":
        by_text = (
            select(Report.id)
            .select_from(_FTS)
            .join(Report, Report.id == _FTS.c.rowid)
            .join(Enterprise, Report.enterprise_id == Enterprise.id)
            .where(_FTS.c.search_text.op("MATCH")(phrase), enterprises_covered(actor))
            .order_by(_FTS.c.rowid.desc())
        )
    else:
        tokens = search_tokens(text[:MAX_QUERY])
        by_text = (
            select(Report.id)
            .join(Enterprise, Report.enterprise_id == Enterprise.id)
            .where(Report.search_text.contains(tokens, autoescape=True))
            .where(enterprises_covered(actor))
            .order_by(Report.id.desc())
        )
    # Enterprises are few: find those named first, then only their reports.
    named = list(
        await session.scalars(
            select(Enterprise.id).where(
                func.lower(Enterprise.name).contains(fold(text[:MAX_QUERY]), autoescape=True),
                enterprises_covered(actor),
            )
        )
    )
    found = set(await session.scalars(by_text.limit(wanted)))
    if named:
        by_name = (
            select(Report.id).where(Report.enterprise_id.in_(named)).order_by(Report.id.desc())
        )
        found |= set(await session.scalars(by_name.limit(wanted)))
    return await with_enterprises(session, sorted(found, reverse=True)[offset:wanted])


async def with_enterprises(
    session: AsyncSession, report_ids: list[int]
) -> list[tuple[Report, Enterprise]]:
    """The reports of these ids with their enterprises, in the order of the ids."""
    if not report_ids:
        return []
    rows = await session.execute(
        select(Report, Enterprise)
        .join(Enterprise, Report.enterprise_id == Enterprise.id)
        .where(Report.id.in_(report_ids))
    )
    loaded = {report.id: (report, enterprise) for report, enterprise in rows}
    return [loaded[report_id] for report_id in report_ids]


async def closed_reports(
    session: AsyncSession, actor: Actor, offset: int = 0, limit: int = 10
) -> list[tuple[Report, Enterprise]]:
    """The closed reports in scope (已办结), most recently closed first."""
    require_role(actor, *BUREAU_ROLES)
    rows = await session.execute(
        select(Report, Enterprise)
        .join(Enterprise, Report.enterprise_id == Enterprise.id)
        .where(Report.status.in_([s.value for s in CLOSED_STATUSES]), enterprises_covered(actor))
        .order_by(Report.closed_at.desc(), Report.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(report, enterprise) for report, enterprise in rows]
