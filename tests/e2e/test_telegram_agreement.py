"""The real `qabot run` against the fake Bot API: an agreement reaching its end date prompts
both sides, each rates the other's commitments, and the supervisor sees the results."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from domain.clock import FixedClock
from handlers.core import Core
from handlers.usecases.agreements import AgreementTerms, set_terms
from handlers.usecases.reminders import sweep
from tests.conftest import World, make_core
from tests.e2e.telegram_support import BotProcess, Person, faster_chats
from tests.e2e.test_telegram_polling import tg, world, world_db  # noqa: F401 (fixtures)
from tests.fakes.fake_telegram import FakeTelegram

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

STAFF, OFFICER, RIVAL, LEAD = 1001, 2001, 1002, 3001
# Monday 2026-11-30 09:00 in Asia/Shanghai: the sweep's working day, and the agreement's end.
END_DAY = date(2026, 11, 30)
SWEEP_AT = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.fixture
async def core(world_db: tuple[str, World], tmp_path: Path) -> AsyncIterator[Core]:  # noqa: F811
    core = make_core(world_db[0], FixedClock(SWEEP_AT), tmp_path / "var" / "files")
    yield core
    await core.sessions.kw["bind"].dispose()


async def test_an_ended_agreement_prompts_both_sides_and_stores_their_ratings(
    core: Core,
    tg: FakeTelegram,  # noqa: F811
    world: World,  # noqa: F811
    world_db: tuple[str, World],  # noqa: F811
    tmp_path: Path,
) -> None:
    bot = BotProcess(faster_chats(tg), world_db[0], tmp_path)  # pacing is not the point here
    await bot.start()
    try:
        # Both sides bind on Telegram; the agreement ends on the day of the sweep.
        staff = Person(tg, STAFF, language="en", first_name="Zhang")
        officer = Person(tg, OFFICER, language="zh-hans", first_name="Wang")
        await staff.send(f"/start {world.enterprise[1]}", expect="/myreports")
        await officer.send(f"/start {world.officer[1]}", expect="/inbox")
        async with core.sessions() as session, session.begin():
            agreement = await set_terms(
                session,
                world.enterprise[0],
                AgreementTerms(date(2026, 1, 1), END_DAY, "王丽", "张总"),
                core.clock.now(),
            )
            agreement_id = agreement.id
        # The sweep of that day (in this process, on its clock); the bot delivers.
        assert (await sweep(core)).agreement_notices == 2
        start = f"ev:start:{agreement_id}"
        for chat in (STAFF, OFFICER):
            await tg.wait_for(
                lambda m, chat=chat: m.chat_id == chat and start in m.callback_data, timeout=30
            )
        prompt = [m for m in staff.messages() if start in m.callback_data][0]
        assert "Please rate how each of the bureau's commitments was kept" in (prompt.text or "")

        # The enterprise rates the bureau's commitment and comments (markup stays text).
        await staff.press(start, expect="上门校准量具")
        await staff.press(f"ev:rate:{world.bureau_commitment}:5", expect="type a comment")
        await staff.send("<b>准时上门</b> & 很专业", expect="Evaluation submitted")
        # The officer rates the enterprise's commitment, without a comment.
        await officer.press(start, expect="建立追溯台账")
        await officer.press(f"ev:rate:{world.enterprise_commitment}:3", expect="评语")
        await officer.press(f"ev:skip:{agreement_id}", expect="评价已提交")

        # Another enterprise's staff member cannot open it.
        rival = Person(tg, RIVAL, language="en")
        await rival.send(f"/start {world.other_enterprise[1]}", expect="/myreports")
        await rival.forge(start, expect="Not found")

        # The city's supervisor sees both sides' results.
        lead = Person(tg, LEAD, language="en")
        await lead.send(f"/start {world.city_supervisor[1]}", expect="/evaluations")
        results = await lead.send("/evaluations", expect="Enterprise rates bureau: mean 5.0")
        assert "Bureau rates enterprise: mean 3.0 (1 rated)" in (results.text or "")
        detail = await lead.press(f"ev:view:{agreement_id}", expect="Comment:")
        assert "<b>准时上门</b> & 很专业" in (detail.text or "")
    finally:
        await bot.stop()
    stored = {
        party: (json.loads(ratings), comment)
        for party, ratings, comment in bot.query(
            "SELECT party, ratings, comment FROM agreement_evaluations"
        )
    }
    assert stored == {
        "enterprise": ({str(world.bureau_commitment): 5}, "<b>准时上门</b> & 很专业"),
        "bureau": ({str(world.enterprise_commitment): 3}, None),
    }
    assert tg.rejected == []
    assert "Traceback" not in bot.log()
