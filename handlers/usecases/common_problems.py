"""Common problems across an industry (行业共性问题): similar earlier reports for the officer
on submission, a weekly list of clusters for supervisors, and research topics linking them."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.roles import Actor, Role, require_role
from domain.similarity import Item, clusters, similar_to_last
from handlers import register_views
from handlers.core import Core
from handlers.register_views import LOOKBACK_DAYS  # noqa: E402
from handlers.usecases.notify import audit, notify, staff_of, supervisors_for
from handlers.usecases.search import with_enterprises
from storage.models import Bureau, Enterprise, Report, ReportEvent, ResearchTopic, SweepRun
from storage.outbox import Notification, enqueue

MAX_COMPARED = 2000


def report_text(report: Report) -> str:
    return _text(report.product, report.description)


def _text(product: str, description: str) -> str:
    return f"{product}\n{description}"


async def _recent(session: AsyncSession, since: datetime) -> list[tuple[Report, Enterprise]]:
    query = (
        select(Report, Enterprise)
        .join(Enterprise, Report.enterprise_id == Enterprise.id)
        .where(Report.submitted_at >= since)
        .order_by(Report.submitted_at.desc(), Report.id.desc())
        .limit(MAX_COMPARED)
    )
    return [(report, enterprise) for report, enterprise in (await session.execute(query)).all()]


async def similar_earlier(
    session: AsyncSession, report: Report, now: datetime
) -> list[tuple[Report, Enterprise]]:
    """Earlier reports of other enterprises in the last 90 days like this one, best first.
    Only their words are read for the comparison (this runs in the submitting turn, up to
    2,000 reports); the reports found are loaded after."""
    params = {
        "since": now - timedelta(days=LOOKBACK_DAYS),
        "now": now,
        "report_id": report.id,
        "enterprise_id": report.enterprise_id,
    }
    candidates = (await session.execute(_CANDIDATES, params)).all()
    if not candidates:
        return []
    texts = [_text(product, description) for _, product, description in candidates]
    # CPU work (0.1–0.5 s over 2,000 reports): off the event loop, other chats go on.
    found = await asyncio.to_thread(similar_to_last, [*texts, report_text(report)])
    return await with_enterprises(session, [candidates[index].id for index, _ in found])


# Built once: every submission runs it.
_CANDIDATES = (
    select(Report.id, Report.product, Report.description)
    .where(
        Report.submitted_at >= bindparam("since"),
        Report.submitted_at <= bindparam("now"),
        Report.id != bindparam("report_id"),
        Report.enterprise_id != bindparam("enterprise_id"),
    )
    .order_by(Report.submitted_at.desc(), Report.id.desc())
    .limit(MAX_COMPARED)
)


def common_industry(enterprise: Enterprise, similar: list[tuple[Report, Enterprise]]) -> str | None:
    """The industry name when the reporting enterprise and all the similar ones share it."""
    code = enterprise.industry_code
    if not code or any(other.industry_code != code for _, other in similar):
        return None
    return enterprise.industry_name or code


async def with_similar_reports(
    session: AsyncSession, report: Report, enterprise: Enterprise, now: datetime
) -> list[tuple[Report, Enterprise]]:
    """Find the similar earlier reports and note them on the new report's timeline."""
    similar = await similar_earlier(session, report, now)
    if similar:
        session.add(
            ReportEvent(
                report_id=report.id,
                at=now,
                actor_id=None,
                kind="similar_found",
                detail={"report_ids": [other.id for other, _ in similar[:20]]},
            )
        )
    return similar


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


async def propose_clusters(core: Core, today: date, now: datetime) -> int:
    """On the week's first sweep: cluster the last 90 days' reports, propose a research topic
    per new cluster of 3+ enterprises, send each scope's supervisors the list; count them."""
    async with core.sessions() as session, session.begin():
        monday = today - timedelta(days=today.weekday())
        swept_this_week = await session.scalar(
            select(SweepRun.day).where(SweepRun.day >= monday, SweepRun.day < today).limit(1)
        )
        if swept_this_week is not None:
            return 0
        recent = await _recent(session, now - timedelta(days=LOOKBACK_DAYS))
        if not recent:
            return 0
        by_id = {report.id: (report, enterprise) for report, enterprise in recent}
        # Seconds to tens of seconds of CPU over 2,000 reports: off the event loop.
        found = await asyncio.to_thread(
            clusters,
            [
                Item(report.id, report.enterprise_id, frozenset(report.areas), report_text(report))
                for report, _ in recent
            ],
        )
        existing = list(await session.scalars(select(ResearchTopic)))
        known = {tuple(sorted(topic.report_ids)) for topic in existing}
        studied = {rid for topic in existing if topic.status == "open" for rid in topic.report_ids}
        province = await session.scalar(select(Bureau.id).where(Bureau.is_province.is_(True)))
        week = iso_week(today)
        topics_by_bureau: dict[int, list[ResearchTopic]] = defaultdict(list)
        for group in found:
            report_ids = sorted(item.item_id for item in group)
            if tuple(report_ids) in known or set(report_ids) <= studied:
                continue
            bureaus = {by_id[rid][1].bureau_id for rid in report_ids}
            bureau_id = bureaus.pop() if len(bureaus) == 1 else province
            if bureau_id is None:
                continue
            first = by_id[report_ids[0]][0]
            topic = ResearchTopic(
                bureau_id=bureau_id,
                title=first.product[:60],
                report_ids=report_ids,
                enterprise_ids=sorted({by_id[rid][1].id for rid in report_ids}),
                status="proposed",
                proposed_at=now,
            )
            session.add(topic)
            topics_by_bureau[bureau_id].append(topic)
        await session.flush()
        queued = 0
        for bureau_id, topics in topics_by_bureau.items():
            listed = [(topic, [by_id[rid] for rid in topic.report_ids]) for topic in topics]
            for supervisor in await supervisors_for(session, bureau_id):
                reply = register_views.cluster_list(supervisor.language or "zh_CN", week, listed)
                queued += await enqueue(
                    session,
                    Notification(
                        supervisor.id,
                        "clusters",
                        f"{supervisor.id}:clusters:{week}:{bureau_id}",
                        reply.to_json(),
                    ),
                    now,
                )
        return queued


async def open_topic(
    session: AsyncSession, actor: Actor, topic_id: int, now: datetime
) -> tuple[ResearchTopic, list[tuple[Report, Enterprise]]]:
    """A supervisor opens a proposed research topic; its enterprises are told (once)."""
    require_role(actor, Role.SUPERVISOR)
    topic = await session.get(ResearchTopic, topic_id)
    if topic is None or not (actor.bureau_is_province or topic.bureau_id == actor.bureau_id):
        raise NotFound()
    rows = await session.execute(
        select(Report, Enterprise)
        .join(Enterprise, Report.enterprise_id == Enterprise.id)
        .where(Report.id.in_(topic.report_ids))
        .order_by(Report.submitted_at)
    )
    reports = [(report, enterprise) for report, enterprise in rows.all()]
    if topic.status == "open":
        return topic, reports
    topic.status, topic.opened_at, topic.opened_by_id = "open", now, actor.person_id
    audit(session, actor.person_id, "research_topic.open", "research_topic", topic.id, now)
    references: dict[int, list[str]] = defaultdict(list)
    for report, enterprise in reports:
        references[enterprise.id].append(report.reference)
        session.add(
            ReportEvent(
                report_id=report.id,
                at=now,
                actor_id=actor.person_id,
                kind="research_topic",
                detail={"topic_id": topic.id},
            )
        )
    for enterprise_id, refs in references.items():
        for person in await staff_of(session, enterprise_id):
            await notify(
                session,
                person,
                "research_topic",
                f"research_topic:{topic.id}",
                lambda lang, refs=refs: register_views.topic_notice_for_enterprise(  # type: ignore[misc]
                    lang, topic, refs
                ),
                now,
            )
    return topic, reports
