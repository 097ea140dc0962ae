"""A local fake of WeCom's server API (token, message/send, cards, media) for end-to-end tests."""

from __future__ import annotations

import itertools
import json
import re
import secrets
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable
from types import TracebackType
from typing import Any
from urllib.parse import quote

from aiohttp import web

TOKEN_TTL = 7200
RATE_LIMIT = 30  # messages per recipient per rolling minute; the excess is dropped silently
RATE_WINDOW = 60.0
TEXT_MAX_BYTES = 2048
MAX_BUTTONS = 6
MAX_OPTIONS = 20
KEY_MAX_BYTES = 1024
INTERACTIVE_CARDS = ("button_interaction", "vote_interaction")
TASK_ID = re.compile(r"[0-9A-Za-z_\-@]{1,128}")

ERRMSG = {
    -1: "system busy",
    40001: "invalid credential",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    40058: "invalid parameter",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41006: "media_id missing",
    41011: "agentid missing",
    42001: "access_token expired",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "api freq out of limit",
    47001: "data format error",
}

JSON = dict[str, Any]


def _error(errcode: int) -> web.Response:
    """WeCom answers errors with HTTP 200 and a JSON errcode, never an HTTP error status."""
    errmsg = ERRMSG.get(errcode, "error")
    more = f", more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"
    return web.json_response({"errcode": errcode, "errmsg": errmsg + more})


def _fits(value: object, max_bytes: int) -> bool:
    """A non-empty string of at most max_bytes in UTF-8."""
    return isinstance(value, str) and 0 < len(value.encode()) <= max_bytes


class FakeWeCom:
    """`async with FakeWeCom(corp_id, secret) as fake:` serves WeCom's API at fake.base_url."""

    def __init__(
        self,
        corp_id: str,
        secret: str,
        *,
        agent_id: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the one app; pass clock to move time in tests (rate limit, token TTL)."""
        self.corp_id, self.secret, self.agent_id, self.clock = corp_id, secret, agent_id, clock
        self.base_url = ""
        self.sent: list[JSON] = []  # accepted messages, one record per recipient
        self.dropped: list[JSON] = []  # accepted (errcode 0) but silently not delivered
        self.card_updates: list[JSON] = []
        self.uploads: list[JSON] = []  # {"media_id", "type", "filename", "content"}
        self.token_requests = 0
        self._tokens: dict[str, float] = {}  # access_token -> expiry on self.clock
        self._expired: set[str] = set()
        self._media: dict[str, tuple[bytes, str, str]] = {}
        self._task_ids: set[str] = set()
        self._response_codes: set[str] = set()
        self._failures: deque[int] = deque()
        self._recent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._msgids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # --- test hooks --------------------------------------------------------------------------

    def add_media(self, media_id: str, content: bytes, content_type: str, filename: str) -> None:
        """Make media/get serve these bytes under media_id."""
        self._media[media_id] = (content, content_type, filename)

    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001 from now on."""
        self._expired.update(self._tokens)

    def fail_next(self, errcode: int, count: int = 1) -> None:
        """The next `count` message/send calls answer errcode (e.g. -1, 45009) and send nothing."""
        self._failures.extend([errcode] * count)

    def issue_response_code(self) -> str:
        """A fresh ResponseCode, as a card-click callback would carry, usable once."""
        code = secrets.token_urlsafe(24)
        self._response_codes.add(code)
        return code

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeWeCom:
        """Start serving on 127.0.0.1 at a free port."""
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update_card)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        # Binding the socket ourselves is the public way to learn the port the OS chose.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- handlers ----------------------------------------------------------------------------

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        corpid, secret = request.query.get("corpid"), request.query.get("corpsecret")
        if not corpid:
            return _error(41002)
        if not secret:
            return _error(41004)
        if corpid != self.corp_id:
            return _error(40013)
        if secret != self.secret:
            return _error(40001)
        now = self.clock()
        # Like WeCom, a still-valid token is handed out again rather than replaced.
        for token, expiry in self._tokens.items():
            if token not in self._expired and expiry > now:
                break
        else:
            token, expiry = secrets.token_urlsafe(48), now + TOKEN_TTL
            self._tokens[token] = expiry
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_TTL}
        )

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token")
        if not token:
            return _error(41001)
        if token not in self._tokens:
            return _error(40014)
        if token in self._expired or self._tokens[token] <= self.clock():
            return _error(42001)
        return None

    async def _json_body(self, request: web.Request) -> JSON | None:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _agent_error(self, body: JSON) -> int:
        if body.get("agentid") in (None, ""):
            return 41011
        if self.agent_id is not None and str(body["agentid"]) != str(self.agent_id):
            return 40056
        return 0

    async def _send(self, request: web.Request) -> web.Response:
        if (denied := self._token_error(request)) is not None:
            return denied
        if self._failures:
            return _error(self._failures.popleft())
        body = await self._json_body(request)
        if body is None:
            return _error(47001)
        errcode = self._agent_error(body) or self._message_error(body)
        if errcode:
            return _error(errcode)
        msgid = f"fake-msg-{next(self._msgids)}"
        result: JSON = {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid}
        meta: JSON = {"msgid": result["msgid"]}
        if body["msgtype"] == "template_card":
            self._task_ids.add(body["template_card"]["task_id"])
            meta["response_code"] = result["response_code"] = self.issue_response_code()
        now = self.clock()
        for user in str(body.get("touser", "")).split("|"):
            window = self._recent[user]
            while window and now - window[0] >= RATE_WINDOW:
                window.popleft()
            record = {**body, "touser": user, **meta}
            if len(window) >= RATE_LIMIT:
                self.dropped.append(record)
            else:
                window.append(now)
                self.sent.append(record)
        return web.json_response(result)

    def _message_error(self, body: JSON) -> int:
        if not any(body.get(k) for k in ("touser", "toparty", "totag")):
            return 40058
        if not isinstance(body.get("touser", ""), str):
            return 40058  # a "|"-separated string, never a JSON list
        msgtype = body.get("msgtype")
        part = body.get(msgtype) if isinstance(msgtype, str) else None
        if msgtype not in ("text", "template_card", "image", "file"):
            return 40008
        if not isinstance(part, dict):
            return 40058
        if msgtype == "text":
            content = part.get("content")
            if not isinstance(content, str) or not content:
                return 44004
            return 45002 if len(content.encode()) > TEXT_MAX_BYTES else 0
        if msgtype in ("image", "file"):
            return 0 if _fits(part.get("media_id"), 256) else 40007
        return 0 if self._card_ok(part) else 40058

    def _card_ok(self, card: JSON) -> bool:
        task_id = card.get("task_id")
        if card.get("card_type") not in INTERACTIVE_CARDS:
            return False
        if not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id):
            return False
        if task_id in self._task_ids:
            return False
        title = card.get("main_title")
        has_title = isinstance(title, dict) and bool(title.get("title"))
        if card["card_type"] == "button_interaction":
            buttons = card.get("button_list")
            if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
                return False
            keys = [b.get("key") if isinstance(b, dict) else None for b in buttons]
            texts_ok = all(isinstance(b, dict) and b.get("text") for b in buttons)
            keys_ok = all(_fits(k, KEY_MAX_BYTES) for k in keys) and len(set(keys)) == len(keys)
            return (has_title or bool(card.get("sub_title_text"))) and texts_ok and keys_ok
        box, submit = card.get("checkbox"), card.get("submit_button")
        if not (has_title and isinstance(box, dict) and isinstance(submit, dict)):
            return False
        options = box.get("option_list")
        if not isinstance(options, list) or not 1 <= len(options) <= MAX_OPTIONS:
            return False
        ids = [o.get("id") if isinstance(o, dict) else None for o in options]
        return (
            _fits(box.get("question_key"), KEY_MAX_BYTES)
            and box.get("mode", 0) in (0, 1)
            and all(_fits(i, 128) for i in ids)
            and len(set(ids)) == len(ids)
            and all(isinstance(o, dict) and o.get("text") for o in options)
            and bool(submit.get("text"))
            and _fits(submit.get("key"), KEY_MAX_BYTES)
        )

    async def _update_card(self, request: web.Request) -> web.Response:
        if (denied := self._token_error(request)) is not None:
            return denied
        body = await self._json_body(request)
        if body is None:
            return _error(47001)
        if errcode := self._agent_error(body):
            return _error(errcode)
        code = body.get("response_code")
        # A response_code is good for one update only.
        change = body.get("button") or body.get("template_card")
        if code not in self._response_codes or not change:
            return _error(40058)
        self._response_codes.discard(code)
        self.card_updates.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _media_upload(self, request: web.Request) -> web.Response:
        """media/upload: a multipart "media" part; image (jpg/png, <= 10 MB) or file (<= 20 MB),
        at least 5 bytes. The media_id is then good for media/get and image/file messages."""
        if (denied := self._token_error(request)) is not None:
            return denied
        kind = request.query.get("type")
        if kind not in ("image", "voice", "video", "file"):
            return _error(40004)
        form = await request.post()
        part = form.get("media")
        if not isinstance(part, web.FileField):
            return _error(41006)
        content = part.file.read()
        limit = {"image": 10, "voice": 2, "video": 10, "file": 20}[kind] * 1024 * 1024
        if len(content) < 5 or len(content) > limit:
            return _error(40006)
        if kind == "image" and part.content_type not in ("image/jpeg", "image/png"):
            return _error(40005)
        media_id = f"fake-media-{secrets.token_urlsafe(12)}"
        self._media[media_id] = (content, part.content_type, part.filename)
        self.uploads.append(
            {"media_id": media_id, "type": kind, "filename": part.filename, "content": content}
        )
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "type": kind,
                "media_id": media_id,
                "created_at": str(int(time.time())),
            }
        )

    async def _media_get(self, request: web.Request) -> web.Response:
        if (denied := self._token_error(request)) is not None:
            return denied
        media_id = request.query.get("media_id")
        if not media_id:
            return _error(41006)
        if media_id not in self._media:
            return _error(40007)
        content, content_type, filename = self._media[media_id]
        # Header values must stay ASCII; a non-ASCII name also goes out in RFC 5987 form.
        fallback = filename.replace('"', "") if filename.isascii() else quote(filename)
        disposition = f'attachment; filename="{fallback}"'
        if not filename.isascii():
            disposition += f"; filename*=UTF-8''{quote(filename)}"
        headers = {"Content-Type": content_type, "Content-Disposition": disposition}
        return web.Response(body=content, headers=headers)
