"""Consultation (会商会诊) as a real step: participants told, reminded on the morning of the
day (by `qabot remind --now` at 08:00), rescheduled with everyone told, conclusion read."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from handlers.core import Core
from handlers.messages import Reply
from storage.models import OutboxMessage
from tests.conftest import World
from tests.integration.test_reminders_run import remind
from tests.integration.test_thread import accepted, notices_to
from tests.support import Chat


async def schedule(officer: Chat, report_id: int, when: str, place: str, lead: bool) -> None:
    await officer.press(f"rep:sch:{report_id}")
    await officer.send(when)
    await officer.send(place)
    if lead:
        await officer.press("杭州领导")
    await officer.press("完成")
    done = await officer.press("跳过")
    assert "已安排" in done[0].text, done[0].text


async def rows(core: Core, kind: str) -> list[OutboxMessage]:
    async with core.sessions() as session:
        found = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))
        return list(found)


async def test_consultation_from_invitation_to_conclusion(
    core: Core, world: World, sqlite_url: str, tmp_path: Path
) -> None:
    staff, officer, report_id = await accepted(core, world)
    lead = world.city_supervisor[0]

    await schedule(officer, report_id, "2026-12-02 14:30", "企业会议室", lead=True)
    [invite] = await notices_to(core, lead)
    assert "2026-12-02 14:30" in invite.text and "企业会议室" in invite.text
    to_staff = [m for m in await rows(core, "report_status") if m.person_id != world.officer[0]]
    assert "2026-12-02 14:30" in to_staff[-1].message["text"]

    # Rescheduled: the participant and the enterprise hear the new time.
    await schedule(officer, report_id, "2026-12-03 09:30", "线上", lead=True)
    assert "2026-12-03 09:30" in (await notices_to(core, lead))[-1].text
    to_staff = [m for m in await rows(core, "report_status") if m.person_id != world.officer[0]]
    assert "2026-12-03 09:30" in to_staff[-1].message["text"]

    # The morning of the old day: nothing; of the new day, at 08:00: everyone involved.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECOM_", "QABOT_"))
    }
    env.update(DATABASE_URL=sqlite_url, QABOT_DATA_DIR=str(tmp_path / "data"))
    await remind(env, "--now", "2026-12-02T08:00:00+08:00")
    assert await rows(core, "consultation_day") == []
    await remind(env, "--now", "2026-12-03T08:00:00+08:00")
    reminded = await rows(core, "consultation_day")
    assert {m.person_id for m in reminded} >= {lead, world.officer[0]}
    assert len(reminded) == 3  # the participant, the officer, the enterprise's staff member
    assert all("09:30" in Reply.from_json(m.message).text for m in reminded)
    await remind(env, "--now", "2026-12-03T10:00:00+08:00")
    assert len(await rows(core, "consultation_day")) == 3  # once a day each

    # After it, the officer records the conclusion with a file; the enterprise reads both.
    await officer.press(f"rep:ccl:{report_id}")
    await officer.send("结论：更换热处理工艺，两周内复查")
    await officer.send_file(b"%PDF-1.4 minutes", "纪要.pdf", "application/pdf")
    assert "会商结论已发送" in (await officer.press("发送"))[0].text
    told = [m for m in await rows(core, "report_thread") if m.person_id != world.officer[0]]
    notice = Reply.from_json(told[-1].message)
    assert "更换热处理工艺" in notice.text
    assert [a.file_name for a in notice.attachments] == ["纪要.pdf"]
    page = (await staff.press(f"rep:view:{report_id}"))[0]
    assert "会商会诊结论" in page.text and "更换热处理工艺" in page.text
