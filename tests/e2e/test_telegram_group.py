"""Issue 12 item 3 through the Telegram channel: in a group the bot only asks for a private chat."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.settings import Settings
from bot.telegram import TelegramChannel
from handlers.core import Core
from storage.models import ChannelIdentity
from tests.conftest import World
from tests.e2e.telegram_support import TOKEN, USERNAME
from tests.fakes.fake_telegram import FakeTelegram

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

GROUP = -100_123


async def test_a_group_chat_is_asked_to_use_a_private_chat(core: Core, world: World) -> None:
    async with FakeTelegram(token=TOKEN, username=USERNAME) as tg:
        settings = Settings(
            telegram_bot_token=tg.token,
            telegram_api_base_url=tg.base_url,
            telegram_file_base_url=tg.base_file_url,
            _env_file=None,  # type: ignore[call-arg]
        )
        channel = TelegramChannel(settings, core)
        await channel.start()
        try:
            tg.add_group(GROUP)
            tg.user_sends_text(1001, f"/start@{USERNAME} {world.enterprise[1]}", chat_id=GROUP)
            answer = await tg.wait_for(lambda m: m.chat_id == GROUP)
        finally:
            await channel.stop()
        assert answer.text == "请与机器人私聊使用。\nPlease use a private chat with the bot."
        assert tg.rejected == []
    async with core.sessions() as session:
        assert await session.scalar(select(func.count(ChannelIdentity.id))) == 0
