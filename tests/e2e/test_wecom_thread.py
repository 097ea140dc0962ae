"""The report as a two-way case on WeCom (real app and routes against the fake WeCom API):
files go through media/upload, typed texts cross over, add/ask/reply, notes, transfer."""

from __future__ import annotations

from typing import Any

import pytest

from domain.roles import Role
from handlers.core import Core
from handlers.usecases.people import add_officer
from tests.conftest import World
from tests.e2e.test_wecom_channel import PNG, WeCom, bind, deliver, wecom  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SECOND_PNG = b"\x89PNG\r\n\x1a\n" + b"second" * 60
NOTE = "内部备注：上次整改拖延"
STAFF, OFFICER, COLLEAGUE = "zhang.san", "wang.li", "chen.ming"


_pressed: set[str] = set()


async def press(wecom: WeCom, user: str, key: str) -> list[dict[str, Any]]:  # noqa: F811
    """Press `key` as this person on their latest card not pressed yet: a card's response
    code is good for one press (a second one reads as WeCom redelivering the first)."""
    cards = [m for m in wecom.to(user) if m["msgtype"] == "template_card"]
    card = next(c for c in reversed(cards) if c["response_code"] not in _pressed)
    _pressed.add(card["response_code"])
    return await wecom.press(user, card, key)


def uploaded_images_to(wecom: WeCom, user: str) -> list[bytes]:  # noqa: F811
    contents = {u["media_id"]: u["content"] for u in wecom.fake.uploads}
    return [contents[m["image"]["media_id"]] for m in wecom.to(user) if m["msgtype"] == "image"]


async def test_a_report_is_a_two_way_case_on_wecom(
    wecom: WeCom,  # noqa: F811
    world: World,
    core: Core,
) -> None:
    async with core.sessions() as session, session.begin():
        _, colleague_code = await add_officer(
            session, "陈明", "杭州市", Role.OFFICER, core.clock.now()
        )
    await bind(wecom, OFFICER, world.officer[1])
    await bind(wecom, STAFF, world.enterprise[1])

    # The staff reports with a photo; the officer receives the same bytes as an image message.
    sent = await wecom.text(STAFF, "/report")
    await wecom.press(STAFF, sent[-1], "rp:areas", selected=["std"])
    await wecom.text(STAFF, "数控车床主轴")
    await wecom.text(STAFF, "主轴温升过高")
    wecom.fake.add_media("MEDIA_1", PNG, "image/png", "主轴.png")
    await wecom.image(STAFF, "MEDIA_1")
    await press(wecom, STAFF, "rp:files")
    await press(wecom, STAFF, "rp:urg:normal")
    summary = next(m for m in reversed(wecom.to(STAFF)) if m["msgtype"] == "template_card")
    await wecom.press(STAFF, summary, "rp:submit")
    await deliver(wecom)
    assert uploaded_images_to(wecom, OFFICER) == [PNG]
    report_id = 1

    # Accept; "resolved" with a note → the enterprise reads it; "not solved" with a reason →
    # the officer reads it.
    await press(wecom, OFFICER, f"rep:acc:{report_id}")
    await press(wecom, OFFICER, f"rep:res:{report_id}")
    await wecom.text(OFFICER, "已更换轴承并校准")
    await deliver(wecom)
    assert "已更换轴承并校准" in wecom.texts(wecom.to(STAFF))
    await press(wecom, STAFF, f"rep:no:{report_id}")
    await wecom.text(STAFF, "温升仍然超标")
    await deliver(wecom)
    assert "温升仍然超标" in wecom.texts(wecom.to(OFFICER))

    # The enterprise adds a text and a second photo; the officer receives both.
    await press(wecom, STAFF, f"rep:add:{report_id}")
    await wecom.text(STAFF, "第二台设备也出现同样问题")
    wecom.fake.add_media("MEDIA_2", SECOND_PNG, "image/png", "第二台.png")
    await wecom.image(STAFF, "MEDIA_2")
    await press(wecom, STAFF, f"rep:post:{report_id}")
    await deliver(wecom)
    assert "第二台设备也出现同样问题" in wecom.texts(wecom.to(OFFICER))
    assert uploaded_images_to(wecom, OFFICER)[-1] == SECOND_PNG

    # The officer asks, the enterprise replies, the officer reads the answer.
    await press(wecom, OFFICER, f"rep:ask:{report_id}")
    await wecom.text(OFFICER, "请提供设备型号")
    await deliver(wecom)
    assert "请提供设备型号" in wecom.texts(wecom.to(STAFF))
    await press(wecom, STAFF, f"rep:ans:{report_id}")
    await wecom.text(STAFF, "CK6140")
    await press(wecom, STAFF, f"rep:post:{report_id}")
    await deliver(wecom)
    assert "CK6140" in wecom.texts(wecom.to(OFFICER))

    # An internal note: the officer sees it; nothing the enterprise gets carries it.
    await press(wecom, OFFICER, f"rep:note:{report_id}")
    await wecom.text(OFFICER, NOTE)
    assert NOTE in wecom.texts(await press(wecom, OFFICER, f"rep:view:{report_id}"))
    await press(wecom, STAFF, f"rep:view:{report_id}")

    # Transfer to a colleague: colleague and enterprise told with the name; the colleague can
    # resolve, the former officer's button is refused.
    await bind(wecom, COLLEAGUE, colleague_code)
    choices = await press(wecom, OFFICER, f"rep:xfer:{report_id}")
    target = next(
        k for m in choices if m["msgtype"] == "template_card" for k in wecom.keys(m).values()
    )
    await press(wecom, OFFICER, target)
    await press(wecom, OFFICER, target.rsplit(":", 1)[0] + ":1")
    await press(wecom, OFFICER, f"rep:skip:{report_id}")
    await deliver(wecom)
    assert "QP-2026-0001" in wecom.texts(wecom.to(COLLEAGUE))
    assert "陈明" in wecom.texts(wecom.to(STAFF))
    refused = await press(wecom, OFFICER, f"rep:res:{report_id}")
    assert "不再由您负责" in wecom.texts(refused)
    await press(wecom, COLLEAGUE, f"rep:res:{report_id}")
    await wecom.text(COLLEAGUE, "已现场处理")
    await deliver(wecom)
    assert "已现场处理" in wecom.texts(wecom.to(STAFF))

    assert NOTE not in wecom.texts(wecom.to(STAFF))
    assert wecom.fake.dropped == []
