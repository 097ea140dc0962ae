"""An agreement's period in /agreement, the sweep's notices, and the evaluation (评价) in the
chat: both sides rate, supervisors see it, nobody else can rate or see."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from domain.roles import Party, Role
from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases.agreements import AgreementTerms, set_terms
from handlers.usecases.commitments import add_commitment
from handlers.usecases.people import add_enterprise, add_officer
from storage.models import Agreement, AgreementEvaluation, AuditEntry, Commitment, OutboxMessage
from tests.conftest import World, build_world
from tests.integration.test_reminders import at, run_sweep
from tests.support import Chat


async def set_period(core: Core, enterprise_id: int, start: date, end: date) -> int:
    async with core.sessions() as session, session.begin():
        agreement = await set_terms(
            session, enterprise_id, AgreementTerms(start, end, "王丽", "张总"), core.clock.now()
        )
        return agreement.id


async def notices(core: Core, kind: str) -> dict[int, Reply]:
    async with core.sessions() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))
        return {row.person_id: Reply.from_json(row.message) for row in rows}


async def bound(core: Core, code: str, user: str, language: str = "en") -> Chat:
    chat = Chat(core, user, language=language)
    await chat.send(f"/start {code}")
    return chat


async def test_month_before_notice_once_per_person_an_officers_agreements_together(
    any_core: Core,
) -> None:
    core = any_core
    world = await build_world(core)
    await bound(core, world.enterprise[1], "staff")
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        second, _ = await add_enterprise(session, "杭州华宇", "杭州市", world.officer[0], None, now)
    await set_period(core, world.enterprise[0], date(2026, 1, 1), date(2026, 12, 30))
    await set_period(core, second.id, date(2026, 1, 1), date(2026, 12, 20))
    # Another city's agreement, further away: not yet.
    await set_period(core, world.other_enterprise[0], date(2026, 1, 1), date(2027, 3, 1))

    assert (await run_sweep(core, at(date(2026, 11, 19)))).agreement_notices == 0
    first = await run_sweep(core, at(date(2026, 11, 20)))  # 30 days before 2026-12-20
    assert first.agreement_notices == 1  # the officer (华宇 has no staff)
    swept = await run_sweep(core, at(date(2026, 11, 30)))  # 30 days before 2026-12-30
    assert swept.agreement_notices == 2  # the officer, and 精工's staff member
    for day in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 15)):
        assert (await run_sweep(core, at(day, 10))).agreement_notices == 0

    async with core.sessions() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "agreement_expiry_notice")
            )
        )
    by_person: dict[int, int] = {}
    for row in rows:
        by_person[row.person_id] = by_person.get(row.person_id, 0) + 1
    staff_id = next(p for p in by_person if p != world.officer[0])
    assert by_person == {world.officer[0]: 2, staff_id: 1}
    staff_notice = Reply.from_json(next(r.message for r in rows if r.person_id == staff_id))
    assert "杭州精工机械有限公司" in staff_notice.text and "30 days left" in staff_notice.text
    assert "Commitments still open: bureau 1, enterprise 1" in staff_notice.text


async def test_both_sides_rate_supervisors_see_the_results_nobody_else_can(
    core: Core, world: World
) -> None:
    today = core.today()  # Monday 2026-11-30
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        await add_commitment(session, world.enterprise[0], Party.BUREAU, "组织培训", today, now)
        ningbo_lead, ningbo_code = await add_officer(
            session, "宁波领导", "宁波市", Role.SUPERVISOR, now
        )
    staff = await bound(core, world.enterprise[1], "staff")
    colleague = await bound(core, world.enterprise[1], "colleague", language="zh-hans")
    officer = await bound(core, world.officer[1], "officer")
    lead = await bound(core, world.city_supervisor[1], "lead")
    province = await bound(core, world.province_supervisor[1], "province")
    rival = await bound(core, world.other_enterprise[1], "rival")
    other_officer = await bound(core, world.other_officer[1], "other")
    ningbo = await bound(core, ningbo_code, "ningbo")

    agreement_id = await set_period(core, world.enterprise[0], date(2026, 1, 1), date(2026, 12, 31))
    # Before the end: /agreement shows the period, days left and what is open; no rating.
    await staff.send("/agreement")
    assert "Period: 2026-01-01 to 2026-12-31" in staff.last.text
    assert "Days left: 31" in staff.last.text
    assert "Commitments still open: bureau 2, enterprise 1" in staff.last.text
    assert "Signed by: bureau 王丽, enterprise 张总" in staff.last.text
    await staff.press(f"ev:start:{agreement_id}")
    assert "once it has ended (2026-12-31)" in staff.last.text

    # The period ends today: the sweep prompts both sides, once.
    await set_period(core, world.enterprise[0], date(2026, 1, 1), today)
    swept = await run_sweep(core, at(today))
    assert swept.agreement_notices == 3  # two staff members and the officer
    assert (await run_sweep(core, at(today, 11))).agreement_notices == 0
    prompts = await notices(core, "agreement_evaluation")
    assert len(prompts) == 3
    officer_prompt = prompts[world.officer[0]]
    assert [b.payload for row in officer_prompt.buttons for b in row] == [
        f"ev:start:{agreement_id}"
    ]

    # The enterprise rates the bureau's two commitments; it may leave and resume.
    await staff.press(f"ev:start:{agreement_id}")
    # Oldest due first: the training (due today), then the calibration.
    assert "(1/2)" in (staff.last.title or "") and "组织培训" in staff.last.text
    await staff.press(staff.last.buttons[0][3].payload)  # ★★★★
    assert "(2/2)" in (staff.last.title or "") and "上门校准量具" in staff.last.text
    await staff.send("/commitments")  # wandered off
    await colleague.press(f"ev:start:{agreement_id}")  # another staff member resumes
    assert "上门校准量具" in colleague.last.text and "（2/2）" in (colleague.last.title or "")
    # Forged: a score of 9, and its own side's commitment.
    await colleague.press(f"ev:rate:{world.bureau_commitment}:9")
    assert "不可用" in colleague.last.text or "无效" in colleague.last.text
    await colleague.press(f"ev:rate:{world.enterprise_commitment}:5")
    assert "只能评价对方的承诺事项" in colleague.last.text
    await colleague.press(f"ev:rate:{world.bureau_commitment}:5")  # ★★★★★ 上门校准量具
    assert "2 项承诺" in colleague.last.text
    markup = "<b>很好</b> =1+1\x00" + "好" * 20
    await colleague.send(markup)
    assert "平均 4.5 分" in colleague.last.text
    await staff.press(f"ev:start:{agreement_id}")
    assert "has been submitted" in staff.last.text

    # Another enterprise's staff, and an officer of another city, can neither rate nor see.
    for outsider in (rival, other_officer):
        await outsider.press(f"ev:start:{agreement_id}")
        assert "not found" in outsider.last.text.lower() or "找不到" in outsider.last.text
        await outsider.press(f"ev:rate:{world.enterprise_commitment}:1")
        assert "not found" in outsider.last.text.lower() or "找不到" in outsider.last.text
        await outsider.send("/evaluations")
        assert "is not for your role" in outsider.last.text
        await outsider.press(f"ev:view:{agreement_id}")
        assert "张总" not in outsider.last.text and "很好" not in outsider.last.text
    # A supervisor sees, but does not rate for the bureau.
    await lead.press(f"ev:start:{agreement_id}")
    assert "assigned officer" in lead.last.text

    # The officer rates the enterprise's one commitment, without a comment.
    await officer.press(f"ev:start:{agreement_id}")
    assert "建立追溯台账" in officer.last.text and "(1/1)" in (officer.last.title or "")
    await officer.press(officer.last.buttons[0][1].payload)  # ★★
    await officer.press(f"ev:skip:{agreement_id}")
    assert "mean score 2.0" in officer.last.text

    async with core.sessions() as session:
        stored = {e.party: e for e in await session.scalars(select(AgreementEvaluation))}
        audited = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "agreement.evaluate").limit(1)
        )
        commitments = list(await session.scalars(select(Commitment)))
    bureau_ids = sorted(
        c.id
        for c in commitments
        if c.party is Party.BUREAU and c.enterprise_id == world.enterprise[0]
    )
    training = max(bureau_ids)  # added here, after the world's calibration
    assert stored[Party.ENTERPRISE].ratings == {str(training): 4, str(world.bureau_commitment): 5}
    # Control characters are dropped (PostgreSQL refuses NUL); markup is kept as text.
    assert stored[Party.ENTERPRISE].comment == markup.replace("\x00", "")
    assert stored[Party.BUREAU].ratings == {str(world.enterprise_commitment): 2}
    assert stored[Party.BUREAU].comment is None
    assert audited is not None

    # After the end, /agreement shows the evaluation state; scores only to supervisors.
    await staff.send("/agreement")
    assert "The agreement ended on 2026-11-30" in staff.last.text
    assert "Enterprise's evaluation of the bureau: submitted (2026-11-30)" in staff.last.text
    assert "mean" not in staff.last.text
    await lead.send("/agreement")
    await lead.press(f"cm:agr:{world.enterprise[0]}")
    assert "submitted (2026-11-30, mean 4.5)" in lead.last.text
    assert (
        "Bureau's evaluation of the enterprise: submitted (2026-11-30, mean 2.0)" in lead.last.text
    )

    # Supervisors in scope see the results: the city's and the province's.
    for supervisor in (lead, province):
        await supervisor.send("/evaluations")
        assert "杭州精工机械有限公司" in supervisor.last.text
        assert "Enterprise rates bureau: mean 4.5 (2 rated)" in supervisor.last.text
        assert "Bureau rates enterprise: mean 2.0 (1 rated)" in supervisor.last.text
        await supervisor.press(f"ev:view:{agreement_id}")
        assert "Comment: " + markup.replace("\x00", "") in supervisor.last.text
        assert "★★★★★ 5" in supervisor.last.text
    # A supervisor of another city sees none of it.
    await ningbo.send("/evaluations")
    assert "No assistance agreement in your scope has ended yet." in ningbo.last.text
    await ningbo.press(f"ev:view:{agreement_id}")
    assert "很好" not in ningbo.last.text and "not found" in ningbo.last.text.lower()

    async with core.sessions() as session:
        agreement = await session.get(Agreement, agreement_id)
        assert agreement is not None and agreement.evaluation_opened_for == today
