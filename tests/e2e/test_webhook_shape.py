"""Issue 12 items 9 and 10: an oversized or type-confused webhook body, against `qabot run`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import World
from tests.e2e.telegram_support import BotProcess, Person
from tests.e2e.test_telegram_polling import tg, world, world_db  # noqa: F401 (fixtures)
from tests.e2e.test_telegram_webhook import bot  # noqa: F401 (fixture)
from tests.fakes.fake_telegram import FakeTelegram

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SECRET = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
USER = {"id": 5, "is_bot": False, "first_name": "X"}
MESSAGE = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "from": USER}


async def test_oversized_and_type_confused_bodies_are_refused(
    bot: BotProcess,  # noqa: F811
    tg: FakeTelegram,  # noqa: F811
    world: World,  # noqa: F811
) -> None:
    confused: list[dict[str, Any]] = [
        {"update_id": 10, "message": {**MESSAGE, "text": 12345}},
        {"update_id": 11, "callback_query": {"id": "q", "chat_instance": "c", "data": "x"}},
        {"update_id": 12, "callback_query": {"id": "q", "from": USER, "data": {"a": 1}}},
        {
            "update_id": 13,
            "message": {
                **MESSAGE,
                "document": {"file_id": "f", "file_unique_id": "u", "file_size": "big"},
            },
        },
    ]
    async with httpx.AsyncClient(base_url=f"http://{bot.listen}", timeout=30) as client:
        huge = b'{"update_id": 1, "pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
        response = await client.post("/telegram/webhook", content=huge, headers=SECRET)
        assert response.status_code == 413
        for body in confused:
            response = await client.post("/telegram/webhook", json=body, headers=SECRET)
            assert response.status_code == 400, body
    # The bot is unharmed: the next person is served.
    staff = Person(tg, 1001, language="en")
    await staff.send(f"/start {world.enterprise[1]}", expect="/myreports")
