"""Demo data for a first try: two cities, officers, enterprises and commitments."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.roles import Party, Role
from handlers.core import Core
from handlers.usecases.commitments import add_commitment
from handlers.usecases.people import add_enterprise, add_officer, count_people
from storage.models import BindingCode, Enterprise, Person


async def create_demo(core: Core) -> list[tuple[str, str]]:
    """Create the demo data once; return (who, code) pairs to show the user."""
    now, today = core.clock.now(), core.today()
    async with core.sessions() as session, session.begin():
        if await count_people(session):
            return await demo_codes(session)
        codes: list[tuple[str, str]] = []
        province, code = await add_officer(
            session, "赵省长（省局分管领导）", "省局", Role.SUPERVISOR, now
        )
        codes.append((province.name, code))
        hz_lead, code = await add_officer(
            session, "钱主任（杭州市局分管领导）", "杭州市", Role.SUPERVISOR, now
        )
        codes.append((hz_lead.name, code))
        wang, code = await add_officer(session, "王丽（帮扶责任人）", "杭州市", Role.OFFICER, now)
        codes.append((wang.name, code))
        li, code = await add_officer(session, "李强（帮扶责任人）", "宁波市", Role.OFFICER, now)
        codes.append((li.name, code))
        machine, code = await add_enterprise(
            session, "杭州精工机械有限公司", "杭州市", wang.id, None, now
        )
        codes.append((machine.name + "（企业人员）", code))
        appliance, code = await add_enterprise(
            session, "宁波海曙电器有限公司", "宁波市", li.id, None, now
        )
        codes.append((appliance.name + "（企业人员）", code))
        plan = [
            (machine.id, Party.BUREAU, "组织计量专家上门校准关键量具", -8),
            (machine.id, Party.BUREAU, "协助企业完成 ISO 9001 体系内审", 2),
            (machine.id, Party.ENTERPRISE, "建立产品质量追溯台账", -1),
            (machine.id, Party.ENTERPRISE, "派员参加标准化培训", 20),
            (appliance.id, Party.BUREAU, "提供CCC认证政策辅导", 3),
            (appliance.id, Party.ENTERPRISE, "完成出厂检验设备更新", 30),
        ]
        for enterprise_id, party, text, days in plan:
            await add_commitment(
                session, enterprise_id, party, text, today + timedelta(days=days), now
            )
        return codes


async def demo_codes(session: AsyncSession) -> list[tuple[str, str]]:
    """The binding codes still usable, for reminding a returning demo user."""
    rows = await session.execute(
        select(BindingCode, Person, Enterprise)
        .outerjoin(Person, BindingCode.person_id == Person.id)
        .outerjoin(Enterprise, BindingCode.enterprise_id == Enterprise.id)
        .order_by(BindingCode.id)
    )
    found = []
    for code, person, enterprise in rows:
        who = person.name if person else f"{enterprise.name}（企业人员）" if enterprise else "?"
        found.append(
            (who + ("（已使用）" if code.used_at and not code.reusable else ""), code.code)
        )
    return found
