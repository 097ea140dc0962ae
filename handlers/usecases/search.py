"""Finding reports: /search, a typed reference, the closed reports; all within scope."""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.references import format_reference
from domain.reports import CLOSED_STATUSES
from domain.roles import BUREAU_ROLES, Actor, require_role
from domain.search_text import MAX_QUERY, search_key
from handlers.usecases.scope import enterprises_covered
from storage.models import Enterprise, Report

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
    text; most recent first."""
    require_role(actor, *BUREAU_ROLES)
    key = search_key(text)[:MAX_QUERY]
    if not key:
        return []
    rows = await session.execute(
        select(Report, Enterprise)
        .join(Enterprise, Report.enterprise_id == Enterprise.id)
        .where(
            enterprises_covered(actor),
            or_(
                Report.search_text.contains(key, autoescape=True),
                func.lower(Enterprise.name).contains(key, autoescape=True),
            ),
        )
        .order_by(Report.submitted_at.desc(), Report.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(report, enterprise) for report, enterprise in rows]


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
