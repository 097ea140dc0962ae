"""Escalations a person can read: one message per supervisor and one notice per officer a day,
the 督办 list behind a button, and the admins' December warning about next year's holidays."""

from __future__ import annotations

from datetime import date, timedelta

from domain.calendar import CalendarDay, DayKind
from domain.clock import FixedClock
from domain.roles import Party, Role
from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases.calendar import store_calendar_days
from handlers.usecases.commitments import add_commitment
from handlers.usecases.people import add_officer, bind
from handlers.usecases.reminders import sweep
from tests.conftest import build_world
from tests.integration.test_reminders import at, bind_people, outbox, set_due
from tests.support import Chat


async def test_150_overdue_items_make_one_notice_and_one_message(any_core: Core) -> None:
    core = any_core
    world = await build_world(core)
    ids = await bind_people(core, world)
    await set_due(core, world.enterprise_commitment, date(2027, 1, 29))
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        for n in range(150):
            await add_commitment(
                session,
                world.enterprise[0],
                Party.BUREAU if n % 2 else Party.ENTERPRISE,
                f"整改事项{n:03d}",
                date(2026, 10, 12) + timedelta(days=n % 30),
                now,
            )
    assert isinstance(core.clock, FixedClock)
    core.clock.instant = at(date(2026, 12, 1))

    assert (await sweep(core)).escalations == 150

    escalations = await outbox(core, "escalation")
    assert [m.person_id for m in escalations] == [ids["lead"]]
    message = Reply.from_json(escalations[0].message)
    assert "150" in (message.title or "")
    assert "王丽：150项" in message.text and "杭州精工机械有限公司：150项" in message.text
    # The oldest first: due 2026-10-12.
    assert "整改事项000" in message.text and "2026-10-12到期" in message.text
    notices = await outbox(core, "escalated")
    assert [m.person_id for m in notices] == [ids["officer"]]
    notice = Reply.from_json(notices[0].message)
    assert "150" in (notice.title or "") and notice.text.count("整改事项") == 40
    # A second sweep the same day, and the next day: nothing new.
    assert (await sweep(core)).escalations == 0
    core.clock.instant = at(date(2026, 12, 2))
    assert (await sweep(core)).escalations == 0
    assert len(await outbox(core, "escalation")) == 1

    # The supervisor pages through the 督办 list from the message's button.
    lead = Chat(core, "lead")
    lead.replies.append(message)
    first = await lead.press("督办清单")
    assert first[0].title == "督办清单（第1/15页，共150项）"
    assert "整改事项000" in first[0].text
    second = await lead.press("下一页")
    assert second[0].title == "督办清单（第2/15页，共150项）"
    assert "整改事项000" not in second[0].text
    # An officer of another city sees none of it.
    other = Chat(core, "other")
    assert "督办清单为空" in (await other.press("esc:list:0"))[0].text
    # Staff may not open it.
    staff = Chat(core, "staff0")
    assert "督办清单" not in ((await staff.press("esc:list:0"))[0].title or "")


async def test_admins_are_warned_from_december_until_next_year_is_loaded(core: Core) -> None:
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        admin, code = await add_officer(session, "管理员", "省局", Role.ADMIN, now)
        await bind(session, "test", "admin", "admin", code, "管理员", now)
    assert isinstance(core.clock, FixedClock)

    core.clock.instant = at(date(2026, 11, 30))
    await sweep(core)
    assert await outbox(core, "digest") == []  # November: not yet

    for day in (date(2026, 12, 1), date(2026, 12, 2)):
        core.clock.instant = at(day)
        await sweep(core)
    warned = [Reply.from_json(m.message) for m in await outbox(core, "digest")]
    assert len(warned) == 2
    assert all("2027年的节假日安排尚未载入" in d.text for d in warned)

    async with core.sessions() as session, session.begin():
        day = date(2027, 1, 1)
        await store_calendar_days(session, [CalendarDay(day, DayKind.HOLIDAY, "元旦")], now)
    core.clock.instant = at(date(2026, 12, 3))
    await sweep(core)
    assert len(await outbox(core, "digest")) == 2  # loaded: no more warning
