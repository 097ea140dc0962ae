"""/search benchmark (issue 9): substring search over 100,000 reports on SQLite.

Builds a migrated SQLite database with 3 cities, 30 officers, 300 enterprises and `--reports`
reports whose product and description are drawn from a Chinese vocabulary, then times
`search_reports` (the use case /search runs: scope filter, LIKE on the folded search text and
the enterprise name, most recent first, one page) for officers, a city supervisor and the
province, over common and rare two-character words, an enterprise name, a reference and a
word that occurs nowhere (the worst case: every row in scope is read).

Run:  .venv/bin/python bench/search_bench.py [--reports 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.references import format_reference  # noqa: E402
from domain.reports import ReportStatus, Urgency  # noqa: E402
from domain.roles import Actor, Role  # noqa: E402
from domain.search_text import searchable  # noqa: E402
from handlers.usecases.people import actor_of, add_enterprise, add_officer  # noqa: E402
from handlers.usecases.search import search_reports  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import SEARCH_INDEX, Person, Report  # noqa: E402

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
CITIES = ("沈阳市", "大连市", "鞍山市")
PRODUCTS = ("轴承", "齿轮", "阀门", "电机", "钢板", "螺栓", "泵体", "铸件", "变压器", "减速机")
WORDS = (
    "尺寸超差", "表面裂纹", "硬度不足", "噪声偏大", "温升过高", "密封泄漏", "批次合格率下降",
    "计量器具未校准", "检测能力不足", "标准不明确", "追溯台账缺失", "认证到期", "热处理变形",
    "焊缝气孔", "涂层脱落", "振动异常", "包装破损", "来料不稳定", "工艺参数漂移", "客户投诉",
)  # fmt: skip
RARE = "钛合金"  # in one report in a thousand


async def build(path: Path, reports: int) -> dict[str, Actor]:
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = session_factory(engine)
    rng = random.Random(9)
    people: dict[str, Person] = {}
    async with sessions() as session, session.begin():
        people["province"], _ = await add_officer(session, "省局领导", "省局", Role.SUPERVISOR, NOW)
        people["city"], _ = await add_officer(session, "沈阳领导", CITIES[0], Role.SUPERVISOR, NOW)
        officers = []
        for number in range(30):
            officer, _ = await add_officer(
                session, f"责任人{number}", CITIES[number % 3], Role.OFFICER, NOW
            )
            officers.append(officer)
        people["officer"] = officers[0]
        enterprises = []
        for number in range(300):
            officer = officers[number % 30]
            enterprise, _ = await add_enterprise(
                session, f"{CITIES[number % 3][:2]}第{number}机械厂", CITIES[number % 3],
                officer.id, None, NOW,
            )  # fmt: skip
            enterprises.append(enterprise)
        rows = []
        for number in range(1, reports + 1):
            enterprise = enterprises[rng.randrange(300)]
            product = rng.choice(PRODUCTS)
            words = rng.sample(WORDS, 3)
            if rng.random() < 0.001:
                words.append(RARE)
            description = "，".join(words) + "。" + "现场反馈：" + "、".join(rng.sample(WORDS, 4))
            reference = format_reference(2026, number)
            rows.append(
                {
                    "reference": reference,
                    "enterprise_id": enterprise.id,
                    "reporter_id": enterprise.officer_id,
                    "officer_id": enterprise.officer_id,
                    "areas": ["std"],
                    "product": product,
                    "description": description,
                    "urgency": Urgency.NORMAL,
                    "status": ReportStatus.SUBMITTED,
                    "submitted_at": NOW - timedelta(minutes=reports - number),
                    "search_text": searchable(reference, product, description),
                }
            )
            if len(rows) == 5000:
                await session.execute(insert(Report), rows)
                rows = []
        if rows:
            await session.execute(insert(Report), rows)
        # A bulk insert passes by the ORM events that index each new report: index them here.
        await session.execute(
            text(
                f"INSERT INTO {SEARCH_INDEX}(rowid, search_text)"
                " SELECT id, search_text FROM reports"
            )
        )
        actors = {}
        for who, person in people.items():
            await session.refresh(person, ["bureau"])
            actors[who] = actor_of(person)
    await engine.dispose()
    return actors


async def measure(path: Path, actors: dict[str, Actor], runs: int) -> dict[str, list[float]]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = session_factory(engine)
    queries = {
        "common word (轴承)": "轴承",
        "two characters (裂纹)": "裂纹",
        "rare word (钛合金)": RARE,
        "enterprise name (沈阳第3机械厂)": "沈阳第3机械厂",
        "reference (QP-2026-0500)": "QP-2026-0500",
        "nowhere (不存在)": "不存在",
    }
    timings: dict[str, list[float]] = {}
    for who, actor in actors.items():
        for label, query in queries.items():
            spent = []
            for _ in range(runs):
                async with sessions() as session:
                    started = time.perf_counter()
                    await search_reports(session, actor, query, limit=11)
                    spent.append((time.perf_counter() - started) * 1000)
            timings[f"{who:8} {label}"] = spent
    await engine.dispose()
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "search.sqlite3"
        started = time.perf_counter()
        actors = await build(path, args.reports)
        print(f"built {args.reports} reports in {time.perf_counter() - started:.1f} s")
        timings = await measure(path, actors, args.runs)
    for label, spent in timings.items():
        print(f"{label:45} median {statistics.median(spent):7.1f} ms  max {max(spent):7.1f} ms")
    medians = [statistics.median(spent) for spent in timings.values()]
    print(f"median of all queries: {statistics.median(medians):.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
