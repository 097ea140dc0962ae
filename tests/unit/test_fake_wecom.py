"""Tests of the fake WeCom server itself, so end-to-end tests can trust it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fakes.fake_wecom import FakeWeCom

CORP, SECRET, AGENT = "ww_fake_corp", "s3cret", 1000002


class Clock:
    """A hand-moved clock for the rate window and token expiry."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _token(client: httpx.AsyncClient) -> str:
    reply = await client.get("/cgi-bin/gettoken", params={"corpid": CORP, "corpsecret": SECRET})
    token: str = reply.json()["access_token"]
    return token


async def _send(client: httpx.AsyncClient, token: str, message: dict[str, Any]) -> dict[str, Any]:
    reply = await client.post(
        "/cgi-bin/message/send", params={"access_token": token}, json={"agentid": AGENT, **message}
    )
    assert reply.status_code == 200
    result: dict[str, Any] = reply.json()
    return result


def _text(user: str, content: str) -> dict[str, Any]:
    return {"touser": user, "msgtype": "text", "text": {"content": content}}


def _buttons(task_id: str, count: int) -> dict[str, Any]:
    card = {
        "card_type": "button_interaction",
        "task_id": task_id,
        "main_title": {"title": "新报告 R-2024-001"},
        "button_list": [{"text": f"b{i}", "key": f"act:{i}"} for i in range(count)],
    }
    return {"touser": "officer1", "msgtype": "template_card", "template_card": card}


async def test_token_and_send() -> None:
    async with (
        FakeWeCom(CORP, SECRET, agent_id=AGENT) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        assert fake.base_url.startswith("http://127.0.0.1:")
        reply = await client.get("/cgi-bin/gettoken", params={"corpid": CORP, "corpsecret": "x"})
        assert reply.json()["errcode"] == 40001
        ok = (
            await client.get("/cgi-bin/gettoken", params={"corpid": CORP, "corpsecret": SECRET})
        ).json()
        assert ok["errcode"] == 0 and ok["expires_in"] == 7200 and ok["access_token"]
        assert fake.token_requests == 2

        result = await _send(client, ok["access_token"], _text("zhangsan", "你好"))
        assert result["errcode"] == 0
        assert [(m["touser"], m["text"]["content"]) for m in fake.sent] == [("zhangsan", "你好")]

        assert (await _send(client, "bogus", _text("zhangsan", "x")))["errcode"] == 40014
        reply = await client.post(
            "/cgi-bin/message/send",
            params={"access_token": ok["access_token"]},
            json={"agentid": 999, **_text("zhangsan", "x")},
        )
        assert reply.json()["errcode"] == 40056


async def test_expired_token_then_fresh_one() -> None:
    clock = Clock()
    async with (
        FakeWeCom(CORP, SECRET, clock=clock) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        token = await _token(client)
        assert await _token(client) == token  # reused while valid, as WeCom does
        fake.expire_tokens()
        assert (await _send(client, token, _text("u", "hi")))["errcode"] == 42001
        fresh = await _token(client)
        assert fresh != token
        assert (await _send(client, fresh, _text("u", "hi")))["errcode"] == 0
        clock.now += 7200
        assert (await _send(client, fresh, _text("u", "hi")))["errcode"] == 42001
        assert fake.token_requests == 3


async def test_text_limit_is_2048_bytes() -> None:
    async with FakeWeCom(CORP, SECRET) as fake, httpx.AsyncClient(base_url=fake.base_url) as client:
        token = await _token(client)
        exact = "中" * 682 + "ab"  # 2046 + 2 = 2048 bytes
        assert (await _send(client, token, _text("u", exact)))["errcode"] == 0
        too_long = exact + "c"
        assert (await _send(client, token, _text("u", too_long)))["errcode"] == 45002
        assert (await _send(client, token, _text("u", "")))["errcode"] == 44004
        assert len(fake.sent) == 1


async def test_button_card_limits_and_update() -> None:
    async with FakeWeCom(CORP, SECRET) as fake, httpx.AsyncClient(base_url=fake.base_url) as client:
        token = await _token(client)
        assert (await _send(client, token, _buttons("t7", 7)))["errcode"] == 40058
        sent = await _send(client, token, _buttons("t6", 6))
        assert sent["errcode"] == 0 and sent["response_code"]
        assert (await _send(client, token, _buttons("t6", 2)))["errcode"] == 40058  # task_id reused
        long_key = _buttons("t-long", 1)
        long_key["template_card"]["button_list"][0]["key"] = "k" * 1025
        assert (await _send(client, token, long_key))["errcode"] == 40058

        update = {
            "agentid": AGENT,
            "response_code": sent["response_code"],
            "button": {"replace_name": "已处理"},
        }
        url, params = "/cgi-bin/message/update_template_card", {"access_token": token}
        assert (await client.post(url, params=params, json=update)).json()["errcode"] == 0
        assert (await client.post(url, params=params, json=update)).json()["errcode"] == 40058
        assert fake.card_updates == [update]


async def test_vote_card() -> None:
    async with FakeWeCom(CORP, SECRET) as fake, httpx.AsyncClient(base_url=fake.base_url) as client:
        token = await _token(client)
        card: dict[str, Any] = {
            "card_type": "vote_interaction",
            "task_id": "areas-1",
            "main_title": {"title": "服务领域"},
            "checkbox": {
                "question_key": "areas",
                "mode": 1,
                "option_list": [{"id": f"a{i}", "text": f"领域{i}"} for i in range(20)],
            },
            "submit_button": {"text": "提交", "key": "submit:areas"},
        }
        message = {"touser": "u", "msgtype": "template_card", "template_card": card}
        assert (await _send(client, token, message))["errcode"] == 0
        card["task_id"] = "areas-2"
        card["checkbox"]["option_list"] = [{"id": f"a{i}", "text": "x"} for i in range(21)]
        assert (await _send(client, token, message))["errcode"] == 40058
        assert len(fake.sent) == 1


async def test_silent_drop_beyond_30_per_minute() -> None:
    clock = Clock()
    async with (
        FakeWeCom(CORP, SECRET, clock=clock) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as client,
    ):
        token = await _token(client)
        for i in range(32):
            assert (await _send(client, token, _text("busy", f"m{i}")))["errcode"] == 0
        assert (await _send(client, token, _text("other", "hello")))["errcode"] == 0
        assert len([m for m in fake.sent if m["touser"] == "busy"]) == 30
        assert [m["text"]["content"] for m in fake.dropped] == ["m30", "m31"]
        clock.now += 60
        assert (await _send(client, token, _text("busy", "later")))["errcode"] == 0
        assert fake.sent[-1]["text"]["content"] == "later"


async def test_fail_next_and_media() -> None:
    async with FakeWeCom(CORP, SECRET) as fake, httpx.AsyncClient(base_url=fake.base_url) as client:
        token = await _token(client)
        fake.fail_next(-1)
        fake.fail_next(45009, count=2)
        codes = [(await _send(client, token, _text("u", "x")))["errcode"] for _ in range(4)]
        assert codes == [-1, 45009, 45009, 0]
        assert len(fake.sent) == 1

        fake.add_media("MEDIA1", b"%PDF-1.4 fake", "application/pdf", "整改报告.pdf")
        reply = await client.get(
            "/cgi-bin/media/get", params={"access_token": token, "media_id": "MEDIA1"}
        )
        assert reply.content == b"%PDF-1.4 fake"
        assert reply.headers["content-type"] == "application/pdf"
        assert "filename*=UTF-8''%E6%95%B4" in reply.headers["content-disposition"]
        missing = await client.get(
            "/cgi-bin/media/get", params={"access_token": token, "media_id": "nope"}
        )
        assert missing.json()["errcode"] == 40007
