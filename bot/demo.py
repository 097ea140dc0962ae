"""Demo data for a first try, in Liaoning: three cities, officers, enterprises, commitments."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.roles import Party, Role
from handlers.core import Core
from handlers.i18n import translate
from handlers.usecases.commitments import add_commitment
from handlers.usecases.people import add_enterprise, add_officer, count_people
from storage.models import BindingCode, Bureau, Enterprise, Person


async def create_demo(core: Core) -> list[tuple[str, str]]:
    """Create the demo data once; return (who, code) pairs to show the user."""
    now, today = core.clock.now(), core.today()
    async with core.sessions() as session, session.begin():
        if not await count_people(session):
            await add_officer(session, "赵敏", "省局", Role.SUPERVISOR, now)
            await add_officer(session, "钱伟", "沈阳市", Role.SUPERVISOR, now)
            wang, _ = await add_officer(session, "王丽", "沈阳市", Role.OFFICER, now)
            li, _ = await add_officer(session, "李强", "大连市", Role.OFFICER, now)
            chen, _ = await add_officer(session, "陈刚", "鞍山市", Role.OFFICER, now)
            machine, _ = await add_enterprise(
                session, "沈阳精工机械有限公司", "沈阳市", wang.id, None, now
            )
            appliance, _ = await add_enterprise(
                session, "大连轴承制造有限公司", "大连市", li.id, None, now
            )
            await add_enterprise(session, "鞍山特种阀门有限公司", "鞍山市", chen.id, None, now)
            plan = [
                (machine.id, Party.BUREAU, "组织计量专家上门校准关键量具", -8),
                (machine.id, Party.BUREAU, "协助企业完成 ISO 9001 体系内审", 2),
                (machine.id, Party.ENTERPRISE, "建立产品质量追溯台账", -1),
                (machine.id, Party.ENTERPRISE, "派员参加标准化培训", 20),
                (appliance.id, Party.BUREAU, "组织轴承产品计量检测能力评估", 3),
                (appliance.id, Party.ENTERPRISE, "完成出厂检验设备更新", 30),
            ]
            for enterprise_id, party, text, days in plan:
                await add_commitment(
                    session, enterprise_id, party, text, today + timedelta(days=days), now
                )
        return await demo_codes(session)


async def demo_codes(session: AsyncSession) -> list[tuple[str, str]]:
    """Every binding code with whom it binds, for a first (or returning) demo user."""
    rows = await session.execute(
        select(BindingCode, Person, Enterprise, Bureau)
        .outerjoin(Person, BindingCode.person_id == Person.id)
        .outerjoin(Enterprise, BindingCode.enterprise_id == Enterprise.id)
        .outerjoin(Bureau, Person.bureau_id == Bureau.id)
        .order_by(BindingCode.id)
    )
    found = []
    for code, person, enterprise, bureau in rows:
        if person is not None:
            role = translate("zh_CN", f"role.{person.role.value}")
            who = f"{person.name} — {bureau.name if bureau else ''} {role} ({person.role.value})"
        else:
            who = f"{enterprise.name if enterprise else '?'} — 企业人员 (staff)"
        if code.used_at and not code.reusable:
            who += "  已使用 used"
        found.append((who, code.code))
    return found
