"""The real `qabot run` in webhook mode (TELEGRAM_WEBHOOK_URL), fed by the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import World
from tests.e2e.telegram_support import BotProcess, Person
from tests.e2e.test_telegram_polling import tg, world, world_db  # noqa: F401 (fixtures)
from tests.fakes.fake_telegram import FakeTelegram

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
async def bot(
    tg: FakeTelegram,  # noqa: F811
    world_db: tuple[str, World],  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[BotProcess]:
    process = BotProcess(tg, world_db[0], tmp_path, webhook=True)
    await process.start()
    yield process
    await process.stop()
    assert "Traceback" not in process.log(), process.log()


async def test_webhook_is_registered_and_checks_its_secret(
    bot: BotProcess,
    tg: FakeTelegram,  # noqa: F811
    world: World,  # noqa: F811
) -> None:
    registered = next(call for call in tg.requests if call.method == "setWebhook")
    assert registered.params["url"] == bot.webhook_url
    assert registered.params["secret_token"] == "s3cret-Token_1"
    assert registered.params.get("drop_pending_updates") in (None, False, "false", "False")
    assert not any(call.method == "getUpdates" for call in tg.requests)

    update = {
        "update_id": 999,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "is_bot": False, "first_name": "X"},
            "text": "/help",
        },
    }
    right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
    async with httpx.AsyncClient(base_url=f"http://{bot.listen}") as client:
        assert (await client.post("/telegram/webhook", json=update)).status_code == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
        assert (
            await client.post("/telegram/webhook", json=update, headers=wrong)
        ).status_code == 403
        for body in (b"{not json", b"[1, 2]", b'{"update_id": "x"}', b"\xff\xfe"):
            response = await client.post("/telegram/webhook", content=body, headers=right)
            assert response.status_code == 400, body
        assert (await client.get("/healthz")).text == "ok"
        assert (await client.get("/readyz")).status_code == 200

    # The real path: a person writes, Telegram posts the update with the secret.
    staff = Person(tg, 1001, language="en")
    await staff.send(f"/start {world.enterprise[1]}", expect="/myreports")
    assert tg.rejected == []


async def test_a_redelivered_update_is_handled_once(
    bot: BotProcess,
    tg: FakeTelegram,  # noqa: F811
    world: World,  # noqa: F811
) -> None:
    staff = Person(tg, 1001, language="en")
    await staff.send(f"/start {world.enterprise[1]}", expect="/myreports")
    await staff.send("/report", expect="Standards")
    checklist = staff.message_with("rp:area:met")
    press = tg.user_presses_button(staff.user_id, checklist.message_id, "rp:area:met")
    await tg.wait_for(lambda m: m is checklist and "☑ Metrology" in str(m.reply_markup))
    await staff.press("rp:areas", expect="(2/6)")
    text = tg.user_sends_text(staff.user_id, "Valves", language_code="en")
    await tg.wait_for(lambda m: m.chat_id == staff.user_id and "(3/6)" in (m.text or ""))
    sent, answers = len(staff.messages()), len(tg.callback_answers)

    # Telegram delivers both updates again (as when it never saw our 200): nothing happens.
    assert await tg.deliver_webhook(press) == 200
    assert await tg.deliver_webhook(text) == 200
    await asyncio.sleep(1.0)
    assert len(staff.messages()) == sent, "a redelivered update was handled again"
    assert len(tg.callback_answers) == answers  # and its button press not answered twice
    assert "☑ Metrology" in str(checklist.reply_markup)  # not toggled back

    await staff.send("Seals leak.", expect="(4/6)")
    await staff.press("rp:files", expect="(5/6)")
    await staff.press("rp:urg:normal", expect="(6/6)")
    summary = staff.message_with("rp:submit")
    assert "Product: Valves" in (summary.text or "")
    assert "Seals leak." in (summary.text or "")
    assert tg.rejected == []
