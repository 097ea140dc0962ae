"""Common problems across enterprises: the officer sees similar earlier reports on
submission, supervisors get the weekly clusters and open a research topic from the list."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases.people import add_enterprise
from storage.models import Enterprise, OutboxMessage, ResearchTopic
from tests.conftest import World
from tests.integration.test_reminders import at, run_sweep
from tests.support import Chat

PROBLEMS = [
    ("闸阀", "闸阀出厂压力试验时阀座密封面泄漏，试压不合格率高"),
    ("球阀", "球阀密封试验阀座处渗漏，密封面研磨工艺不稳定"),
    ("截止阀", "截止阀阀座密封面泄漏，压力试验保压不住"),
]
UNRELATED = ("饼干", "饼干包装标签营养成分表标注不规范")


async def messages(core: Core, kind: str, person_id: int | None = None) -> list[Reply]:
    async with core.sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == kind)
        if person_id is not None:
            query = query.where(OutboxMessage.person_id == person_id)
        return [
            Reply.from_json(row.message)
            for row in await session.scalars(query.order_by(OutboxMessage.id))
        ]


async def valve_makers(core: Core, world: World, count: int = 3) -> list[tuple[int, str]]:
    """Enterprises in valve manufacturing (GB/T 4754 C3443) under the world's officer."""
    made = []
    async with core.sessions() as session, session.begin():
        for number in range(count):
            enterprise, code = await add_enterprise(
                session, f"阀门厂{number + 1}号", "杭州市", world.officer[0], None, core.clock.now()
            )
            enterprise.industry_code, enterprise.industry_name = "C3443", "阀门和旋塞制造"
            made.append((enterprise.id, code))
    return made


async def report(core: Core, user: str, code: str, product: str, text: str) -> str:
    chat = Chat(core, user)
    await chat.send(f"/start {code}")
    await chat.send("/report")
    await chat.press("rp:area:test")
    await chat.press("rp:areas")
    await chat.send(product)
    await chat.send(text)
    await chat.press("rp:files")
    await chat.press("rp:urg:normal")
    submitted = (await chat.press("rp:submit"))[-1].text
    return "QP-" + submitted.split("QP-", 1)[1][:9]


async def test_the_third_similar_report_names_the_other_two(core: Core, world: World) -> None:
    makers = await valve_makers(core, world)
    references = []
    for index, ((_, code), (product, text)) in enumerate(zip(makers, PROBLEMS, strict=True)):
        references.append(await report(core, f"maker{index}", code, product, text))
        core.clock.advance(timedelta(hours=1))
    await report(core, "cookies", world.enterprise[1], *UNRELATED)
    notices = await messages(core, "report_new", world.officer[0])
    assert len(notices) == 4
    assert "相似" not in notices[0].text
    third = notices[2]
    assert "近 90 天有 2 份相似报告，来自 2 家阀门和旋塞制造企业" in third.text, third.text
    for reference in references[:2]:
        assert reference in third.text
    assert "阀门厂1号" in third.text and "阀门厂2号" in third.text
    assert references[0] in [button.label for row in third.buttons for button in row]
    assert "相似" not in notices[3].text


async def test_weekly_clusters_reach_the_supervisor_who_opens_a_research_topic(
    core: Core, world: World
) -> None:
    makers = await valve_makers(core, world)
    references = []
    for index, ((_, code), (product, text)) in enumerate(zip(makers, PROBLEMS, strict=True)):
        references.append(await report(core, f"maker{index}", code, product, text))
    await report(core, "cookies", world.enterprise[1], *UNRELATED)
    supervisor = Chat(core, "lead")
    await supervisor.send(f"/start {world.city_supervisor[1]}")
    province = Chat(core, "province")
    await province.send(f"/start {world.province_supervisor[1]}")

    monday = date(2026, 12, 7)
    await run_sweep(core, at(monday))
    await run_sweep(core, at(monday + timedelta(days=1)))  # the week's list is sent once
    weekly = await messages(core, "clusters", world.city_supervisor[0])
    assert len(weekly) == 1
    assert "3 份报告，3 家企业" in weekly[0].text
    for reference in references:
        assert reference in weekly[0].text
    assert await messages(core, "clusters", world.province_supervisor[0]) == []

    # The list arrives as a notification; pressing its button opens the topic.
    supervisor.replies.append(weekly[0])
    button = weekly[0].buttons[0][0]
    opened = (await supervisor.press(button.label))[-1]
    assert "专题研究" in (opened.title or "")
    for reference in references:
        assert reference in opened.text
    async with core.sessions() as session:
        topic = (await session.scalars(select(ResearchTopic))).one()
        assert topic.status == "open" and len(topic.report_ids) == 3
    told = await messages(core, "research_topic")
    assert len(told) == 3 and all("专题研究" in (reply.title or "") for reply in told)
    # Pressing again changes nothing and tells nobody twice; another city's officer cannot.
    await supervisor.press(button.payload)
    assert len(await messages(core, "research_topic")) == 3
    other = Chat(core, "other")
    await other.send(f"/start {world.other_officer[1]}")
    assert "没有权限" in (await other.press(button.payload))[-1].text
    # Next week the same cluster is not proposed again.
    await run_sweep(core, at(monday + timedelta(days=7)))
    assert len(await messages(core, "clusters")) == 1


async def test_industry_is_optional_and_enterprises_of_different_industries_still_match(
    core: Core, world: World
) -> None:
    makers = await valve_makers(core, world, 2)
    async with core.sessions() as session, session.begin():
        first = await session.get(Enterprise, makers[0][0])
        assert first is not None
        first.industry_code = None
    await report(core, "m0", makers[0][1], *PROBLEMS[0])
    await report(core, "m1", makers[1][1], *PROBLEMS[1])
    notice = (await messages(core, "report_new", world.officer[0]))[-1]
    assert "近 90 天有 1 份相似报告，来自 1 家其他企业" in notice.text
