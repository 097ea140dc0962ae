"""The real app (Starlette routes + core on a SQLite copy) against the fake WeCom API, with
callbacks encrypted by wechatpy's independent implementation."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import logging
import os
import secrets
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
from sqlalchemy import select
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from bot.delivery import Delivery, DeliveryReport
from bot.pacing import WECOM_MEMBER
from bot.settings import Settings
from bot.web import build_app
from bot.wecom import WeComChannel
from domain.clock import FixedClock
from handlers.core import Core
from handlers.dispatcher import Handled
from handlers.messages import OutgoingFile, Reply
from handlers.usecases.people import person_for_identity
from storage import outbox
from storage.models import Attachment, ChannelIdentity, InboxUpdate, OutboxMessage, Report
from tests.conftest import World
from tests.fakes.fake_wecom import FakeWeCom

CORP = "ww0123456789abcdef"
SECRET = "app-secret-for-tests"
AGENT = 1000002
TOKEN = "qabotToken2026"
AES_KEY = base64.b64encode(bytes(range(1, 33))).decode()[:43]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)

_ids = itertools.count(7_000_000_000_000_000_000)


def _cdata(value: str) -> str:
    return f"<![CDATA[{value}]]>"


# A person reads a reply and taps the next button in some seconds, not in milliseconds.
THINK_SECONDS = 4.0


@dataclass
class PersonPace:
    """A monotonic clock that runs in real time plus every person's thinking time so far."""

    offset: float = field(default=0.0)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def think(self) -> None:
        self.offset += THINK_SECONDS
def encrypted(
    peer: WeChatCrypto, inner: str, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and query WeCom would POST for this inner XML."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    nonce = secrets.token_hex(5)
    outer = peer.encrypt_message(inner, nonce, stamp)
    signature = outer.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    query = {"msg_signature": signature, "timestamp": stamp, "nonce": nonce}
    return outer.encode(), query


@dataclass
class WeCom:
    """Posts callbacks as WeCom would and reads what the fake WeCom server received."""

    fake: FakeWeCom
    channel: WeComChannel
    client: httpx.AsyncClient
    core: Core
    peer: WeChatCrypto
    # The channel's pacing clock, if the test gave it one: each callback moves it on by a
    # person's time to read and tap (THINK_SECONDS), as WeCom's per-minute limit sees a person.
    pace: PersonPace | None = None

    # --- callbacks ---------------------------------------------------------------------------

    def encrypt(
        self, inner: str, timestamp: int | None = None, peer: WeChatCrypto | None = None
    ) -> tuple[bytes, dict[str, str]]:
        return encrypted(peer or self.peer, inner, timestamp)

    async def post_raw(self, body: bytes, query: dict[str, str]) -> httpx.Response:
        return await self.client.post("/wecom/callback", params=query, content=body)

    async def post(self, inner: str) -> httpx.Response:
        if self.pace is not None:
            self.pace.think()
        body, query = self.encrypt(inner)
        response = await self.post_raw(body, query)
        await self.channel.drain()
        return response

    @staticmethod
    def message(user: str, msg_type: str, **fields: str) -> str:
        parts = "".join(f"<{k}>{_cdata(v)}</{k}>" for k, v in fields.items())
        return (
            f"<xml><ToUserName>{_cdata(CORP)}</ToUserName>"
            f"<FromUserName>{_cdata(user)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType>{_cdata(msg_type)}</MsgType>{parts}"
            f"<MsgId>{next(_ids)}</MsgId><AgentID>{AGENT}</AgentID></xml>"
        )

    async def text(self, user: str, content: str) -> list[dict[str, Any]]:
        before = len(self.fake.sent)
        response = await self.post(self.message(user, "text", Content=escape(content)))
        assert response.status_code == 200 and response.content == b""
        return self.fake.sent[before:]

    async def image(self, user: str, media_id: str) -> list[dict[str, Any]]:
        before = len(self.fake.sent)
        inner = self.message(user, "image", PicUrl="https://example.invalid/p", MediaId=media_id)
        assert (await self.post(inner)).status_code == 200
        return self.fake.sent[before:]

    async def press(
        self, user: str, card: dict[str, Any], key: str, selected: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Press a button (or submit a vote card) of a card the fake received for `user`."""
        before = len(self.fake.sent)
        inner = self.card_event(user, card, key, selected)
        assert (await self.post(inner)).status_code == 200
        return self.fake.sent[before:]

    @staticmethod
    def card_event(
        user: str, card: dict[str, Any], key: str, selected: list[str] | None = None
    ) -> str:
        """The inner XML of a press on a card `user` received (a vote card's choices)."""
        template = card["template_card"]
        items = ""
        if selected is not None:
            options = "".join(f"<OptionId>{_cdata(o)}</OptionId>" for o in selected)
            question = template["checkbox"]["question_key"]
            items = (
                "<SelectedItems><SelectedItem>"
                f"<QuestionKey>{_cdata(question)}</QuestionKey>"
                f"<OptionIds>{options}</OptionIds>"
                "</SelectedItem></SelectedItems>"
            )
        return (
            f"<xml><ToUserName>{_cdata(CORP)}</ToUserName>"
            f"<FromUserName>{_cdata(user)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType>{_cdata('event')}</MsgType>"
            f"<Event>{_cdata('template_card_event')}</Event>"
            f"<EventKey>{_cdata(key)}</EventKey>"
            f"<TaskId>{_cdata(template['task_id'])}</TaskId>"
            f"<CardType>{_cdata(template['card_type'])}</CardType>"
            f"<ResponseCode>{_cdata(card['response_code'])}</ResponseCode>"
            f"<AgentID>{AGENT}</AgentID>{items}</xml>"
        )

    # --- reading what was sent ---------------------------------------------------------------

    def to(self, user: str) -> list[dict[str, Any]]:
        return [m for m in self.fake.sent if m["touser"] == user]

    def last_card(self, user: str) -> dict[str, Any]:
        return [m for m in self.to(user) if m["msgtype"] == "template_card"][-1]

    @staticmethod
    def texts(messages: list[dict[str, Any]]) -> str:
        out = []
        for m in messages:
            if m["msgtype"] == "text":
                out.append(m["text"]["content"])
            elif m["msgtype"] in ("image", "file"):
                continue  # a file shown: no text
            else:
                card = m["template_card"]
                out.append(card.get("main_title", {}).get("title", ""))
                out.append(card.get("main_title", {}).get("desc", ""))
                out.append(card.get("sub_title_text", ""))
        return "\n".join(out)

    @staticmethod
    def keys(card: dict[str, Any]) -> dict[str, str]:
        """Button label → key of a button card."""
        return {b["text"]: b["key"] for b in card["template_card"]["button_list"]}


def settings_for(base_url: str, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        wecom_corp_id=CORP,
        wecom_agent_id=str(AGENT),
        wecom_secret=SECRET,
        wecom_token=TOKEN,
        wecom_aes_key=AES_KEY,
        wecom_api_base_url=base_url,
        language="zh_CN",
    )


@pytest.fixture
async def wecom(core: Core, sqlite_url: str) -> AsyncIterator[WeCom]:
    pace = PersonPace()
    # The fake counts WeCom's per-minute limit on the same clock as the people's pace.
    async with FakeWeCom(CORP, SECRET, agent_id=AGENT, clock=pace.monotonic) as fake:
        channel = WeComChannel(
            settings_for(fake.base_url, sqlite_url), core, monotonic=pace.monotonic
        )
        await channel.start()
        app = build_app(core, channel.routes())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://qabot") as client:
            yield WeCom(fake, channel, client, core, WeChatCrypto(TOKEN, AES_KEY, CORP), pace)
        await channel.stop()


async def bind(wecom: WeCom, user: str, code: str, spaced: bool = True) -> None:
    replies = await wecom.text(user, f"绑定 {code}" if spaced else f"绑定{code}")
    assert "绑定成功" in wecom.texts(replies), replies


async def deliver(wecom: WeCom) -> DeliveryReport:
    return await Delivery(wecom.core, [wecom.channel]).run_once()


# --- URL verification and refusals ----------------------------------------------------------


def _verification_query(echo: str, corp: str = CORP, stamp: int | None = None) -> dict[str, str]:
    key = base64.b64decode(AES_KEY + "=")
    echostr = PrpCrypto(key).encrypt(echo, corp).decode()
    timestamp = str(stamp if stamp is not None else int(time.time()))
    nonce = "1372623149"
    return {
        "msg_signature": _get_signature(TOKEN, timestamp, nonce, echostr),
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": echostr,
    }


async def test_url_verification_answers_the_bare_echostr(wecom: WeCom) -> None:
    response = await wecom.client.get("/wecom/callback", params=_verification_query("7341829912"))
    assert response.status_code == 200
    assert response.text == "7341829912"


async def test_url_verification_refusals(wecom: WeCom) -> None:
    good = _verification_query("echo")
    forged = {**good, "msg_signature": "0" * 40}
    other_corp = _verification_query("echo", corp="ww_another_company")
    stale = _verification_query("echo", stamp=int(time.time()) - 301)
    get = wecom.client.get
    assert (await get("/wecom/callback", params=forged)).status_code == 403
    assert (await get("/wecom/callback", params=other_corp)).status_code == 403
    assert (await get("/wecom/callback", params=stale)).status_code == 403
    missing = {k: v for k, v in good.items() if k != "echostr"}
    assert (await get("/wecom/callback", params=missing)).status_code == 400
    assert (await get("/wecom/callback", params={**good, "timestamp": "soon"})).status_code == 400
    bad_base64 = {**good, "echostr": "!!!"}
    bad_base64["msg_signature"] = _get_signature(TOKEN, good["timestamp"], good["nonce"], "!!!")
    assert (await get("/wecom/callback", params=bad_base64)).status_code == 400


async def test_forged_wrong_corp_stale_and_malformed_posts_are_refused(
    wecom: WeCom, world: World
) -> None:
    inner = wecom.message("zhangsan", "text", Content=f"/start {world.enterprise[1]}")
    body, query = wecom.encrypt(inner)
    forged = {**query, "msg_signature": "a" * 40}
    assert (await wecom.post_raw(body, forged)).status_code == 403
    other_peer = WeChatCrypto(TOKEN, AES_KEY, "ww_another_company")
    assert (await wecom.post_raw(*wecom.encrypt(inner, peer=other_peer))).status_code == 403
    stale = wecom.encrypt(inner, timestamp=int(time.time()) - 400)
    assert (await wecom.post_raw(*stale)).status_code == 403
    future = wecom.encrypt(inner, timestamp=int(time.time()) + 400)
    assert (await wecom.post_raw(*future)).status_code == 403
    assert (await wecom.post_raw(b"<xml><Encrypt>", query)).status_code == 400
    assert (await wecom.post_raw(b"not xml at all", query)).status_code == 400
    doctype = b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert (await wecom.post_raw(doctype, query)).status_code == 400
    assert (await wecom.post_raw(body, {"timestamp": query["timestamp"]})).status_code == 400
    assert (await wecom.post_raw(body, {**query, "timestamp": "12:00"})).status_code == 400
    # Well signed, but the decrypted message is not WeCom's XML.
    assert (await wecom.post_raw(*wecom.encrypt("<xml><oops"))).status_code == 400
    await wecom.channel.drain()
    assert wecom.fake.sent == []
    async with wecom.core.sessions() as session:
        assert await session.scalar(select(ChannelIdentity)) is None


# --- binding and the whole report conversation ----------------------------------------------


async def test_whole_report_conversation_and_the_officers_card_press(
    wecom: WeCom, world: World
) -> None:
    staff, officer = "zhangsan", "wangli"
    await bind(wecom, officer, world.officer[1], spaced=False)
    await bind(wecom, staff, world.enterprise[1])

    # 1. Service areas: one vote card, checkbox mode 1, submitted at once.
    sent = await wecom.text(staff, "/report")
    vote = sent[-1]["template_card"]
    assert vote["card_type"] == "vote_interaction"
    assert vote["checkbox"]["mode"] == 1
    assert len(vote["checkbox"]["option_list"]) == 8
    assert vote["submit_button"]["key"] == "rp:areas"
    sent = await wecom.press(staff, sent[-1], "rp:areas", selected=["met", "std"])
    assert wecom.fake.card_updates[-1]["button"] == {"replace_name": "已处理"}
    assert wecom.fake.card_updates[-1]["userids"] == [staff]
    assert "产品" in wecom.texts(sent)

    # 2., 3. Product and a long description (typed text, shown back safely).
    await wecom.text(staff, "数控车床主轴 <a href='http://x'>点我</a>")
    description = "主轴温升过高，" * 40
    sent = await wecom.text(staff, description)
    files_card = sent[-1]

    # 4. A photo downloaded through media/get, then Done.
    wecom.fake.add_media("MEDIA_1", PNG, "image/png", "主轴.png")
    sent = await wecom.image(staff, "MEDIA_1")
    assert "1" in wecom.texts(sent)
    files_card = sent[-1]
    assert files_card["template_card"]["card_type"] == "button_interaction"
    sent = await wecom.press(staff, files_card, "rp:files")

    # 5. Urgency.
    urgency_card = sent[-1]
    assert set(wecom.keys(urgency_card).values()) == {"rp:urg:normal", "rp:urg:urgent"}
    sent = await wecom.press(staff, urgency_card, "rp:urg:urgent")

    # 6. Summary: a card with Submit / Change / Cancel; the long text follows in full.
    summary = next(m for m in sent if m["msgtype"] == "template_card")
    assert set(wecom.keys(summary).values()) == {"rp:submit", "rp:change", "rp:cancel"}
    assert summary["template_card"]["sub_title_text"].endswith("…")
    assert len(summary["template_card"]["sub_title_text"]) <= 120
    full = [m["text"]["content"] for m in sent if m["msgtype"] == "text"]
    assert full and description in "".join(full)
    assert "<a href" not in "".join(full)  # the user's own tag is not rendered as a link
    sent = await wecom.press(staff, summary, "rp:submit")
    assert "QP-2026-0001" in wecom.texts(sent)

    async with wecom.core.sessions() as session:
        report = await session.scalar(select(Report))
        assert report is not None and report.reference == "QP-2026-0001"
        assert report.areas == ["std", "met"]
        attachment = await session.scalar(select(Attachment))
        assert attachment is not None and attachment.report_id == report.id
        assert (attachment.size, attachment.mime_type, attachment.file_name) == (
            len(PNG),
            "image/png",
            "主轴.png",
        )

    # The officer gets ONE card: reference, enterprise, areas and the action buttons.
    assert (await deliver(wecom)).sent == 1
    notice = wecom.last_card(officer)
    card = notice["template_card"]
    assert card["card_type"] == "button_interaction"
    assert "QP-2026-0001" in card["main_title"]["title"]
    assert "杭州精工机械有限公司" in card["sub_title_text"]
    assert "标准" in card["sub_title_text"] and "计量" in card["sub_title_text"]
    keys = set(wecom.keys(notice).values())
    assert f"rep:acc:{report.id}" in keys and f"rep:view:{report.id}" in keys
    # The card shortened the long description: the whole notice follows as text.
    assert description in wecom.texts(wecom.to(officer)[-2:])

    # The officer presses Accept on that card: marked handled, accepted, enterprise told.
    updates = len(wecom.fake.card_updates)
    sent = await wecom.press(officer, notice, f"rep:acc:{report.id}")
    assert len(wecom.fake.card_updates) == updates + 1
    assert "QP-2026-0001" in wecom.texts(sent)
    async with wecom.core.sessions() as session:
        accepted = await session.get(Report, report.id)
        assert accepted is not None and accepted.status.value == "accepted"
    await deliver(wecom)
    assert "QP-2026-0001" in wecom.texts(wecom.to(staff)[-2:])
    assert wecom.fake.dropped == []


async def test_unbound_member_is_asked_to_bind_and_gets_the_default_language(
    wecom: WeCom,
) -> None:
    sent = await wecom.text("newcomer", "你好")
    assert "/start" in wecom.texts(sent)


async def test_empty_vote_submission_offers_a_fresh_card(wecom: WeCom, world: World) -> None:
    await bind(wecom, "zhangsan", world.enterprise[1])
    sent = await wecom.text("zhangsan", "/report")
    sent = await wecom.press("zhangsan", sent[-1], "rp:areas", selected=[])
    assert sent[-1]["template_card"]["card_type"] == "vote_interaction"


# --- dedupe ---------------------------------------------------------------------------------


async def test_redelivered_callback_is_answered_and_handled_once(
    wecom: WeCom, world: World, core: Core, sqlite_url: str
) -> None:
    inner = wecom.message("zhangsan", "text", Content=f"/start {world.enterprise[1]}")
    body, query = wecom.encrypt(inner)
    for _ in range(3):
        assert (await wecom.post_raw(body, query)).status_code == 200
    await wecom.channel.drain()
    answered = len(wecom.to("zhangsan"))
    assert "绑定成功" in wecom.texts(wecom.to("zhangsan")[:1])
    assert "绑定成功" not in wecom.texts(wecom.to("zhangsan")[1:])

    # After a restart (a fresh channel, nothing in memory) the database still knows it.
    restarted = WeComChannel(settings_for(wecom.fake.base_url, sqlite_url), core)
    await restarted.start()
    app = build_app(core, restarted.routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://qabot"
    ) as client:
        assert (await client.post("/wecom/callback", params=query, content=body)).status_code == 200
        await restarted.drain()
    await restarted.stop()
    assert len(wecom.to("zhangsan")) == answered


async def test_card_event_redelivered_is_handled_once(wecom: WeCom, world: World) -> None:
    await bind(wecom, "zhangsan", world.enterprise[1])
    sent = await wecom.text("zhangsan", "/report")
    card = sent[-1]
    first = await wecom.press("zhangsan", card, "rp:areas", selected=["met"])
    again = await wecom.press("zhangsan", card, "rp:areas", selected=["met"])
    assert first and again == []
    assert len(wecom.fake.card_updates) == 1


# --- outgoing: tokens, errors, limits --------------------------------------------------------


async def queue(core: Core, person_id: int, count: int = 1, text: str = "提醒") -> None:
    async with core.sessions() as session, session.begin():
        for number in range(count):
            message = Reply(text=f"{text} {number + 1}").to_json()
            key = f"{person_id}:{text}:{number}"
            note = outbox.Notification(person_id, "test", key, message)
            await outbox.enqueue(session, note, core.clock.now())


async def test_expired_token_is_refreshed_once(wecom: WeCom, world: World) -> None:
    await bind(wecom, "wangli", world.officer[1])
    assert wecom.fake.token_requests == 1
    wecom.fake.expire_tokens()
    await queue(wecom.core, world.officer[0])
    report = await deliver(wecom)
    assert report.sent == 1 and wecom.fake.token_requests == 2

    # Refused again right after the new token: back to the outbox, no token loop.
    wecom.fake.fail_next(42001, count=2)
    await queue(wecom.core, world.officer[0], text="第二条")
    report = await deliver(wecom)
    assert (report.sent, report.retried) == (0, 1)
    assert wecom.fake.token_requests == 3


async def test_system_busy_then_success(wecom: WeCom, world: World, clock: FixedClock) -> None:
    await bind(wecom, "wangli", world.officer[1])
    await queue(wecom.core, world.officer[0])
    wecom.fake.fail_next(-1)
    assert (await deliver(wecom)).retried == 1
    async with wecom.core.sessions() as session:
        row = await session.scalar(select(OutboxMessage))
        assert row is not None and row.next_attempt_at >= clock.now() + timedelta(seconds=1)
    clock.advance(timedelta(seconds=2))
    assert (await deliver(wecom)).sent == 1
    assert wecom.texts(wecom.to("wangli")[-1:]) == "提醒 1"


async def test_frequency_limit_backs_off(wecom: WeCom, world: World, clock: FixedClock) -> None:
    await bind(wecom, "wangli", world.officer[1])
    await queue(wecom.core, world.officer[0])
    wecom.fake.fail_next(45009)
    assert (await deliver(wecom)).retried == 1
    async with wecom.core.sessions() as session:
        row = await session.scalar(select(OutboxMessage))
        assert row is not None and row.next_attempt_at >= clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(seconds=61))
    assert (await deliver(wecom)).sent == 1


async def test_never_more_than_30_messages_per_member_per_minute(
    wecom: WeCom, world: World
) -> None:
    await bind(wecom, "wangli", world.officer[1])
    already = len(wecom.to("wangli"))  # the answers to binding count too
    await queue(wecom.core, world.officer[0], count=35)
    report = await deliver(wecom)
    # A burst goes at once (bot/pacing.py keeps any 61 s within 30); the rest waits its turn.
    assert report.sent == WECOM_MEMBER.burst - already
    assert report.retried == 35 - report.sent
    assert len(wecom.to("wangli")) == WECOM_MEMBER.burst
    assert wecom.fake.dropped == []
    async with wecom.core.sessions() as session:
        waiting = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending"))
        ).all()
    assert len(waiting) == report.retried
    assert all(m.last_error and "30/min" in m.last_error for m in waiting)


async def test_configuration_errors_are_logged(
    core: Core, sqlite_url: str, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeWeCom(CORP, "another-secret", agent_id=AGENT) as fake:
        channel = WeComChannel(settings_for(fake.base_url, sqlite_url), core)
        async with core.sessions() as session, session.begin():
            session.add(
                ChannelIdentity(
                    person_id=world.officer[0],
                    channel="wecom",
                    external_id="wangli",
                    chat_id="wangli",
                    last_seen_at=core.clock.now(),
                )
            )
        await queue(core, world.officer[0])
        with caplog.at_level(logging.ERROR, logger="bot.wecom.api"):
            report = await Delivery(core, [channel]).run_once()
        await channel.stop()
    assert report.retried == 1 and fake.sent == []
    assert "WECOM_SECRET" in caplog.text


async def test_long_text_is_split_at_2048_bytes(wecom: WeCom, world: World) -> None:
    await bind(wecom, "wangli", world.officer[1])
    before = len(wecom.to("wangli"))
    lines = [f"第{n}行：计量器具校准记录检查。" for n in range(300)]
    await wecom.channel.deliver("wangli", Reply(text="\n".join(lines)))
    parts = [m["text"]["content"] for m in wecom.to("wangli")[before:]]
    assert len(parts) > 1
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == "\n".join(lines)


# --- more incoming kinds ----------------------------------------------------------------------


async def test_callback_is_answered_before_the_work_is_done(
    wecom: WeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    real_handle = wecom.channel._handle

    async def slow_handle(callback: Any, may_repeat: bool) -> Handled:
        await release.wait()  # as if the database or WeCom were slow
        return await real_handle(callback, may_repeat)

    monkeypatch.setattr(wecom.channel, "_handle", slow_handle)
    body, query = wecom.encrypt(wecom.message("someone", "text", Content="/help"))
    response = await asyncio.wait_for(wecom.post_raw(body, query), timeout=5)
    assert response.status_code == 200 and response.content == b""
    assert wecom.fake.sent == []
    release.set()
    await wecom.channel.drain()
    assert wecom.to("someone")  # the answer came actively, through message/send


async def test_callback_is_answered_once_the_message_is_in_the_inbox(
    wecom: WeCom, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Answered before it is stored, a crash in between would lose the message: WeCom would not
    # resend it. Stored, it is answered at once, however long its turn then takes.
    release = asyncio.Event()
    real_handle = wecom.channel._handle

    async def held_handle(callback: Any, may_repeat: bool) -> Handled:
        await release.wait()
        return await real_handle(callback, may_repeat)

    monkeypatch.setattr(wecom.channel, "_handle", held_handle)
    inner = wecom.message("zhangsan", "text", Content=f"/start {world.enterprise[1]}")
    body, query = wecom.encrypt(inner)
    response = await asyncio.wait_for(wecom.post_raw(body, query), timeout=5)
    assert response.status_code == 200
    async with wecom.core.sessions() as session:
        stored = (await session.scalars(select(InboxUpdate))).all()
        assert [row.chat_id for row in stored if row.done_at is None] == ["zhangsan"]
        assert await person_for_identity(session, "wecom", "zhangsan") is None
    release.set()
    await wecom.channel.drain()
    async with wecom.core.sessions() as session:
        assert await person_for_identity(session, "wecom", "zhangsan") is not None


async def test_menu_click_runs_its_command_once(wecom: WeCom, world: World) -> None:
    await bind(wecom, "zhangsan", world.enterprise[1])
    created = str(int(time.time()))
    click = (
        f"<xml><ToUserName>{_cdata(CORP)}</ToUserName>"
        f"<FromUserName>{_cdata('zhangsan')}</FromUserName><CreateTime>{created}</CreateTime>"
        f"<MsgType>{_cdata('event')}</MsgType><Event>{_cdata('click')}</Event>"
        f"<EventKey>{_cdata('/report')}</EventKey><AgentID>{AGENT}</AgentID></xml>"
    )
    before = len(wecom.fake.sent)
    await wecom.post(click)
    await wecom.post(click)  # WeCom's redelivery: same sender, CreateTime and EventKey
    sent = wecom.fake.sent[before:]
    assert [m["template_card"]["card_type"] for m in sent] == ["vote_interaction"]


async def test_files_documents_and_their_limits(wecom: WeCom, world: World) -> None:
    await bind(wecom, "zhangsan", world.enterprise[1])
    sent = await wecom.text("zhangsan", "/report")
    await wecom.press("zhangsan", sent[-1], "rp:areas", selected=["test"])
    await wecom.text("zhangsan", "电线电缆")
    await wecom.text("zhangsan", "绝缘电阻检测不合格")

    wecom.fake.add_media("PDF", b"%PDF-1.4 test", "application/octet-stream", "检测报告.pdf")
    before = len(wecom.fake.sent)
    await wecom.post(wecom.message("zhangsan", "file", MediaId="PDF"))
    assert "1" in wecom.texts(wecom.fake.sent[before:])

    wecom.fake.add_media("EXE", b"MZ...", "application/x-msdownload", "setup.exe")
    before = len(wecom.fake.sent)
    await wecom.post(wecom.message("zhangsan", "file", MediaId="EXE"))
    assert "不支持" in wecom.texts(wecom.fake.sent[before:])

    big = bytes(20 * 1024 * 1024 + 1)
    wecom.fake.add_media("BIG", big, "image/jpeg", "big.jpg")
    before = len(wecom.fake.sent)
    await wecom.image("zhangsan", "BIG")
    assert "过大" in wecom.texts(wecom.fake.sent[before:])

    before = len(wecom.fake.sent)
    await wecom.image("zhangsan", "NO_SUCH_MEDIA")  # media/get answers 40007
    assert "企业微信" in wecom.texts(wecom.fake.sent[before:])

    async with wecom.core.sessions() as session:
        stored = (await session.scalars(select(Attachment))).all()
    assert [(a.file_name, a.mime_type) for a in stored] == [("检测报告.pdf", "application/pdf")]


# --- outgoing: partial failure, several channels, qabot remind -------------------------------


async def test_a_reply_cut_short_by_an_error_resumes_where_it_stopped(
    wecom: WeCom, world: World, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bind(wecom, "wangli", world.officer[1])
    before = len(wecom.to("wangli"))
    real_send = wecom.channel.api.send
    calls = 0

    async def flaky_send(message: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 2:
            wecom.fake.fail_next(-1)  # the second part of the reply meets "system busy"
        return await real_send(message)

    monkeypatch.setattr(wecom.channel.api, "send", flaky_send)
    lines = [f"第{n}条记录：量具校准证书已归档。" for n in range(200)]
    await queue_reply(wecom.core, world.officer[0], Reply(text="\n".join(lines)))
    assert (await deliver(wecom)).retried == 1
    clock.advance(timedelta(seconds=2))
    assert (await deliver(wecom)).sent == 1
    parts = [m["text"]["content"] for m in wecom.to("wangli")[before:]]
    assert "\n".join(parts) == "\n".join(lines)  # every part once, in order


async def queue_reply(core: Core, person_id: int, reply: Reply) -> None:
    async with core.sessions() as session, session.begin():
        note = outbox.Notification(person_id, "test", f"{person_id}:reply", reply.to_json())
        await outbox.enqueue(session, note, core.clock.now())


class CollectingSender:
    channel = "telegram"
    max_per_second: float | None = None

    def __init__(self) -> None:
        self.delivered: list[tuple[str, Reply]] = []

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        self.delivered.append((chat_id, reply))


async def test_bound_on_telegram_and_wecom_notified_where_last_seen(
    wecom: WeCom, world: World, clock: FixedClock
) -> None:
    async with wecom.core.sessions() as session, session.begin():
        session.add(
            ChannelIdentity(
                person_id=world.officer[0],
                channel="telegram",
                external_id="4242",
                chat_id="4242",
                last_seen_at=clock.now() - timedelta(hours=1),
            )
        )
    clock.advance(timedelta(minutes=1))
    await wecom.text("wangli", f"/start {world.officer[1]}")  # same code, same person
    telegram = CollectingSender()
    delivery = Delivery(wecom.core, [wecom.channel, telegram])
    before = len(wecom.to("wangli"))
    await queue(wecom.core, world.officer[0], text="先到企业微信")
    await delivery.run_once()
    assert len(wecom.to("wangli")) == before + 1 and telegram.delivered == []

    async with wecom.core.sessions() as session, session.begin():
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.channel == "telegram")
        )
        assert identity is not None
        identity.last_seen_at = clock.now() + timedelta(minutes=5)
    await queue(wecom.core, world.officer[0], text="再到Telegram")
    await delivery.run_once()
    assert [chat for chat, _ in telegram.delivered] == ["4242"]


async def test_digest_delivered_by_qabot_remind(
    wecom: WeCom, world: World, sqlite_url: str, tmp_path: Path
) -> None:
    await bind(wecom, "wangli", world.officer[1])
    before = len(wecom.to("wangli"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WECOM_", "TELEGRAM_", "QABOT_", "DATABASE_"))
    }
    env.update(
        DATABASE_URL=sqlite_url,
        WECOM_CORP_ID=CORP,
        WECOM_AGENT_ID=str(AGENT),
        WECOM_SECRET=SECRET,
        WECOM_TOKEN=TOKEN,
        WECOM_AES_KEY=AES_KEY,
        WECOM_API_BASE_URL=wecom.fake.base_url,
        QABOT_DATA_DIR=str(tmp_path / "data"),
    )
    qabot = Path(sys.executable).with_name("qabot")
    process = await asyncio.create_subprocess_exec(
        str(qabot),
        "remind",
        "--now",
        "2026-11-30T09:00:00+08:00",
        "--json",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    result = json.loads(out)
    assert result["channels"] == ["wecom"] and result["delivery"]["sent"] >= 1
    digest = wecom.texts(wecom.to("wangli")[before:])
    assert "上门校准量具" in digest  # the officer's bureau commitment due in 2 days


# --- the real server ----------------------------------------------------------------------------


async def test_qabot_run_serves_the_callback_on_qabot_listen(
    sqlite_url: str, tmp_path: Path
) -> None:
    from bot.runner import run
    from bot.runtime import build_runtime

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with FakeWeCom(CORP, SECRET, agent_id=AGENT) as fake:
        settings = settings_for(fake.base_url, sqlite_url).model_copy(
            update={"listen": f"127.0.0.1:{port}", "data_dir": tmp_path / "data"}
        )
        runtime = build_runtime(settings)
        running = asyncio.create_task(run(settings, runtime))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for _ in range(200):
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    await asyncio.sleep(0.025)
                query = _verification_query("5927406518")
                verified = await client.get("/wecom/callback", params=query)
                assert (verified.status_code, verified.text) == (200, "5927406518")

                peer = WeChatCrypto(TOKEN, AES_KEY, CORP)
                inner = WeCom.message("lisi", "text", Content="/help")
                stamp, nonce = str(int(time.time())), "8817"
                outer = peer.encrypt_message(inner, nonce, stamp)
                signature = outer.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
                params = {"msg_signature": signature, "timestamp": stamp, "nonce": nonce}
                answered = await client.post("/wecom/callback", params=params, content=outer)
                assert (answered.status_code, answered.content) == (200, b"")
            for _ in range(200):
                if fake.sent:
                    break
                await asyncio.sleep(0.025)
            assert fake.sent and fake.sent[0]["touser"] == "lisi"
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await runtime.close()


# --- files out, members who left ----------------------------------------------------------------


class UploadsAndLeavers(httpx.AsyncBaseTransport):
    """The fake WeCom, plus media/upload and a member who has left (neither is in the fake)."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.uploads: list[tuple[str, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/media/upload":
            self.uploads.append((request.url.params["type"], await request.aread()))
            media_id = f"UPLOADED_{len(self.uploads)}"
            return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "media_id": media_id})
        sending = request.url.path == "/cgi-bin/message/send"
        if sending and json.loads(await request.aread()).get("touser") == "gone":
            left = {"errcode": 0, "errmsg": "ok", "invaliduser": "gone"}
            return httpx.Response(200, json=left)
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


async def test_files_are_uploaded_and_a_member_who_left_is_marked_unreachable(
    core: Core, sqlite_url: str, world: World
) -> None:
    transport = UploadsAndLeavers()
    async with (
        FakeWeCom(CORP, SECRET, agent_id=AGENT) as fake,
        httpx.AsyncClient(transport=transport) as http,
    ):
        channel = WeComChannel(settings_for(fake.base_url, sqlite_url), core, http=http)
        chart = OutgoingFile("统计.png", "image/png", PNG)
        await channel.deliver("wangli", Reply(text="本月统计", file=chart))
        workbook = OutgoingFile("export.xlsx", "application/vnd.ms-excel", b"PK\x03\x04 xlsx")
        await channel.deliver("wangli", Reply(text="导出", file=workbook))
        assert [m["msgtype"] for m in fake.sent] == ["text", "image", "text", "file"]
        assert fake.sent[1]["image"] == {"media_id": "UPLOADED_1"}
        assert [kind for kind, _ in transport.uploads] == ["image", "file"]
        assert PNG in transport.uploads[0][1]

        async with core.sessions() as session, session.begin():
            session.add(
                ChannelIdentity(
                    person_id=world.officer[0],
                    channel="wecom",
                    external_id="gone",
                    chat_id="gone",
                    last_seen_at=core.clock.now(),
                )
            )
        await queue(core, world.officer[0])
        report = await Delivery(core, [channel]).run_once()
        assert report.failed == 1
        async with core.sessions() as session:
            identity = await session.scalar(select(ChannelIdentity))
            assert identity is not None and identity.unreachable_since is not None
        await channel.stop()


async def test_quick_messages_of_one_member_are_answered_in_order(
    wecom: WeCom, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bind(wecom, "zhangsan", world.enterprise[1])
    real_handle = wecom.channel._handle
    delays = iter([0.2, 0.1, 0.0])

    async def uneven_handle(callback: Any, may_repeat: bool) -> Handled:
        await asyncio.sleep(next(delays))  # the first message is the slowest to handle
        return await real_handle(callback, may_repeat)

    monkeypatch.setattr(wecom.channel, "_handle", uneven_handle)
    before = len(wecom.fake.sent)
    for text in ("/report", "/cancel", "/agreement"):
        body, query = wecom.encrypt(wecom.message("zhangsan", "text", Content=text))
        assert (await wecom.post_raw(body, query)).status_code == 200
    await wecom.channel.drain()
    sent = wecom.fake.sent[before:]
    assert sent[0]["msgtype"] == "template_card"  # /report's vote card first
    assert "上门校准量具" in wecom.texts(sent[-1:])  # /agreement's answer last


async def test_replies_use_qabot_language_until_lang(wecom: WeCom, world: World) -> None:
    await bind(wecom, "zhangsan", world.enterprise[1])  # 绑定成功: QABOT_LANGUAGE is zh_CN
    sent = await wecom.text("zhangsan", "/lang")
    await wecom.press("zhangsan", sent[-1], "lang:set:en")
    assert wecom.fake.card_updates[-1]["button"] == {"replace_name": "Handled"}
    sent = await wecom.text("zhangsan", "/report")
    vote = sent[-1]["template_card"]
    assert "Standards" in [o["text"] for o in vote["checkbox"]["option_list"]]


async def test_export_workbook_arrives_as_a_file_message(
    core: Core, sqlite_url: str, world: World
) -> None:
    transport = UploadsAndLeavers()
    async with (
        FakeWeCom(CORP, SECRET, agent_id=AGENT) as fake,
        httpx.AsyncClient(transport=transport) as http,
    ):
        channel = WeComChannel(settings_for(fake.base_url, sqlite_url), core, http=http)
        await channel.start()
        app = httpx.ASGITransport(app=build_app(core, channel.routes()))
        async with httpx.AsyncClient(transport=app, base_url="http://qabot") as client:
            wecom = WeCom(fake, channel, client, core, WeChatCrypto(TOKEN, AES_KEY, CORP))
            await bind(wecom, "lead", world.city_supervisor[1])
            sent = await wecom.text("lead", "/export")
        await channel.stop()
    assert [m["msgtype"] for m in sent] == ["text", "file"]
    kind, upload = transport.uploads[0]
    assert kind == "file" and b"PK" in upload and b".xlsx" in upload
