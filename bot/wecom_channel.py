"""The WeCom (企业微信) channel: the callback endpoint, events in, cards and text out.

SPEC §6 "On WeCom". The callback only checks, decrypts and acknowledges (an empty 200 well
within WeCom's 5 s); each message is then handled in a background task and every reply is
sent actively through message/send, never as a passive reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import mimetypes
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.delivery import DeliveryError
from bot.settings import Settings
from bot.wecom.api import RECIPIENT_ERRORS, WeComApi, WeComApiError, WeComUnreachable
from bot.wecom.crypto import (
    CorpIdMismatch,
    MalformedMessage,
    SignatureError,
    WeComCrypto,
    parse_xml_element,
)
from handlers.core import MAX_FILE_BYTES, Core
from handlers.dispatcher import handle
from handlers.i18n import translate
from handlers.messages import Button, IncomingEvent, IncomingFile, OutgoingFile, Reply
from handlers.usecases.notify import language_of
from handlers.usecases.people import person_for_identity
from storage.outbox import Notification, enqueue

log = logging.getLogger(__name__)

CHANNEL = "wecom"
CALLBACK_PATH = "/wecom/callback"
ANSWER_WITHIN_SECONDS = 3.0
MAX_TIMESTAMP_SKEW = 300
MAX_BODY_BYTES = 256 * 1024
TEXT_MAX_BYTES = 2048
CARD_TEXT_CHARS = 120
MAX_CARD_BUTTONS = 6
MAX_VOTE_OPTIONS = 20
# WeCom silently drops what exceeds 30 messages per member per minute. A rolling window
# (a little longer than a minute, for clock and latency jitter) keeps every minute within it.
MEMBER_LIMIT = 30
MEMBER_WINDOW = 61.0
# In the reply path a short wait is better than a detour through the outbox.
INLINE_RETRIES = 2
INLINE_RETRY_DELAY = 1.0
RECENT_KEYS = 4096
UPLOAD = "_upload"  # placeholder for a file message, uploaded when it is sent
MAX_UPLOAD_IMAGE = 10 * 1024 * 1024  # WeCom's image limit; bigger pictures go as files
KEY_MAX = 150
# WeCom text messages render <a href> links; a user's own "<a" must not become one.
_ANCHOR = re.compile(r"<(\s*/?\s*a\b)", re.IGNORECASE)

JSON = dict[str, Any]


class StaleTimestamp(Exception):
    """The callback's timestamp is more than MAX_TIMESTAMP_SKEW from our clock (a replay?)."""


# --- rendering ----------------------------------------------------------------------------


def shorten(text: str, limit: int = CARD_TEXT_CHARS) -> tuple[str, bool]:
    """At most `limit` characters, ending in "…" where cut; and whether it was cut."""
    text = text.strip()
    if len(text) <= limit:
        return text, False
    return text[: limit - 1].rstrip() + "…", True


def split_text(text: str, limit: int = TEXT_MAX_BYTES) -> list[str]:
    """Split into parts of at most `limit` UTF-8 bytes, at line breaks where possible."""
    parts: list[str] = []
    rest = text
    while len(rest.encode()) > limit:
        # The longest prefix that fits, never cutting a character in two.
        head = rest.encode()[:limit].decode("utf-8", "ignore")
        cut = head.rfind("\n")
        if cut <= 0:
            cut = max(head.rfind(" "), head.rfind("。"))
            cut = cut + 1 if cut > len(head) // 2 else len(head)
            parts.append(head[:cut])
            rest = rest[cut:]
        else:
            parts.append(head[:cut])
            rest = rest[cut + 1 :]
    if rest or not parts:
        parts.append(rest)
    return [part for part in parts if part.strip()] or [text[:1] or " "]


def _safe(text: str) -> str:
    return _ANCHOR.sub(lambda m: "＜" + m.group(1), text)


def _text_messages(title: str | None, text: str) -> list[JSON]:
    whole = f"【{title}】\n{text}" if title else text
    return [{"msgtype": "text", "text": {"content": part}} for part in split_text(_safe(whole))]


def new_task_id() -> str:
    """A unique task_id ([0-9A-Za-z_-@], ≤ 128 characters)."""
    return f"qb_{uuid.uuid4().hex}"


def _button_cards(
    title: str | None, text: str, buttons: list[Button], task_id: Callable[[], str]
) -> list[JSON]:
    groups = [buttons[i : i + MAX_CARD_BUTTONS] for i in range(0, len(buttons), MAX_CARD_BUTTONS)]
    cards: list[JSON] = []
    for number, group in enumerate(groups, 1):
        card: JSON = {
            "card_type": "button_interaction",
            "task_id": task_id(),
            "button_list": [
                {"text": shorten(b.label, 20)[0], "style": 1, "key": b.payload} for b in group
            ],
        }
        heading = title or ""
        if len(groups) > 1:
            heading = f"{heading} ({number}/{len(groups)})".strip()
        if heading:
            card["main_title"] = {"title": shorten(heading)[0]}
        if number == 1 and text.strip():
            card["sub_title_text"] = shorten(text)[0]
        elif not heading:
            card["sub_title_text"] = "…"
        cards.append({"msgtype": "template_card", "template_card": card})
    return cards


def render(reply: Reply, task_id: Callable[[], str] = new_task_id) -> list[JSON]:
    """The message/send bodies (without touser/agentid) that show one reply on WeCom."""
    title = reply.title
    text = reply.text or ""
    checklist = reply.checklist
    buttons = [button for row in reply.buttons for button in row]
    if checklist is not None and len(checklist.options) > MAX_VOTE_OPTIONS:
        # Too many for a vote card: every option becomes a toggle button instead.
        buttons = reply.all_buttons()
        checklist = None
    messages: list[JSON] = []
    in_card = False
    if checklist is not None:
        in_card = True
        # Without a title the first line of the text heads the card, the rest is its desc.
        heading, _, desc = (title, "", text) if title else text.strip().partition("\n")
        main_title: JSON = {"title": shorten(heading or "…")[0]}
        if desc.strip():
            main_title["desc"] = shorten(desc)[0]
        card = {
            "card_type": "vote_interaction",
            "task_id": task_id(),
            "main_title": main_title,
            "checkbox": {
                "question_key": checklist.toggle_prefix.rstrip(":") or "choice",
                "option_list": [
                    {"id": o.value, "text": shorten(o.label, 60)[0], "is_checked": o.selected}
                    for o in checklist.options
                ],
                "mode": 1,
            },
            "submit_button": {"text": checklist.done.label, "key": checklist.done.payload},
        }
        messages.append({"msgtype": "template_card", "template_card": card})
        if buttons:
            messages += _button_cards(title, "", buttons, task_id)
        cut = shorten(heading)[1] or shorten(desc)[1]
    elif buttons:
        in_card = True
        messages += _button_cards(title, text, buttons, task_id)
        cut = shorten(text)[1] or shorten(title or "")[1]
    if not in_card:
        return _text_messages(title, text)
    if cut:
        # Where the card had to shorten the text, the whole text follows as text.
        messages += _text_messages(title, text)
    return messages


# --- incoming -----------------------------------------------------------------------------


@dataclass
class Callback:
    """One decrypted callback, reduced to what the core needs."""

    user_id: str
    update_key: str
    text: str | None = None
    payload: str | None = None
    selected: list[str] | None = None
    media_id: str | None = None
    media_kind: str = "file"
    response_code: str | None = None


def _key(*parts: str) -> str:
    key = "wecom:" + ":".join(parts)
    if len(key) > KEY_MAX:
        key = "wecom:h:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _selected(root: ET.Element) -> list[str] | None:
    items = root.find("SelectedItems")
    if items is None:
        return None
    return [
        (option.text or "").strip()
        for option in items.iter("OptionId")
        if (option.text or "").strip()
    ]


def parse_callback(root: ET.Element) -> Callback | None:
    """Map a decrypted WeCom message or event to a Callback; None if it needs no answer."""

    def get(tag: str) -> str:
        return (root.findtext(tag) or "").strip()

    user, created, kind = get("FromUserName"), get("CreateTime"), get("MsgType")
    if not user:
        raise MalformedMessage("no FromUserName")
    message_key = _key("msg", get("MsgId")) if get("MsgId") else _key("msg", user, created)
    if kind == "text":
        return Callback(user, message_key, text=root.findtext("Content") or "")
    if kind in ("image", "file", "voice", "video"):
        media_id = get("MediaId")
        if not media_id:
            raise MalformedMessage("media message without MediaId")
        return Callback(user, message_key, media_id=media_id, media_kind=kind)
    if kind != "event":
        log.info("WeCom %s message from %s ignored", kind, user)
        return None
    event, event_key = get("Event"), get("EventKey")
    if event == "template_card_event":
        code = get("ResponseCode")
        key = _key("card", code) if code else _key("card", user, get("TaskId"), event_key)
        return Callback(
            user,
            key,
            payload=event_key,
            selected=_selected(root),
            response_code=code or None,
        )
    if event == "click" and event_key:
        key = _key("evt", user, created, event_key)
        if event_key.startswith("/"):
            # A menu item may carry a command ("/report") or a button payload.
            return Callback(user, key, text=event_key)
        return Callback(user, key, payload=event_key)
    log.debug("WeCom event %s from %s ignored", event, user)
    return None


def _file_name(response: httpx.Response, fallback: str) -> str:
    disposition = response.headers.get("content-disposition", "")
    encoded = re.search(r"filename\*\s*=\s*UTF-8''([^;]+)", disposition, re.IGNORECASE)
    if encoded:
        return unquote(encoded.group(1).strip())
    plain = re.search(r'filename\s*=\s*"?([^";]+)"?', disposition, re.IGNORECASE)
    return unquote(plain.group(1).strip()) if plain else fallback


# --- the channel --------------------------------------------------------------------------


@dataclass
class _Pacer:
    """Keeps each member at or below MEMBER_LIMIT messages per MEMBER_WINDOW seconds."""

    monotonic: Callable[[], float]
    sent: dict[str, deque[float]] = field(default_factory=dict)

    def wait_for(self, user: str, count: int) -> float:
        """Seconds until `count` more messages fit in the member's window (0: now)."""
        window = self.sent.get(user, deque())
        now = self.monotonic()
        while window and now - window[0] >= MEMBER_WINDOW:
            window.popleft()
        if not window:
            self.sent.pop(user, None)  # forget members who have been quiet for a minute
        room = MEMBER_LIMIT - len(window)
        if count <= room:
            return 0.0
        # The (count - room)-th oldest send must leave the window first.
        needed = min(count - room, len(window))
        return window[needed - 1] + MEMBER_WINDOW - now

    def record(self, user: str) -> None:
        self.sent.setdefault(user, deque()).append(self.monotonic())


class WeComChannel:
    """WeCom self-built app (自建应用): callback in, message/send out."""

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        core: Core,
        http: httpx.AsyncClient | None = None,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        corp_id, token, aes_key = (
            settings.wecom_corp_id,
            settings.wecom_token,
            settings.wecom_aes_key,
        )
        secret, agent_id = settings.wecom_secret, settings.wecom_agent_id
        if not (corp_id and token and aes_key and secret and agent_id):
            raise ValueError("the WeCom channel needs every WECOM_* setting")
        self.core = core
        self.default_language = settings.language
        self.crypto = WeComCrypto(token, aes_key, corp_id)
        self.api = WeComApi(
            settings.wecom_api_base_url, corp_id, secret, agent_id, http=http, monotonic=monotonic
        )
        self.agent_id = agent_id
        self._wall_clock = wall_clock
        # WeCom waits 5 s for the answer to a callback; we answer after the turn is stored,
        # but never later than this.
        self.answer_within = ANSWER_WITHIN_SECONDS
        self._pacer = _Pacer(monotonic)
        self._tasks: set[asyncio.Task[None]] = set()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._user_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        # Parts of a reply already sent, so a retry after a partial failure sends the rest.
        self._progress: dict[tuple[str, str], int] = {}
        # Set by the runner: wakes the outbox worker so a turn's notifications go out now.
        self.after_turn: Callable[[], None] | None = None

    # --- Channel protocol --------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [Route(CALLBACK_PATH, self.callback, methods=["GET", "POST"])]

    async def start(self) -> None:
        """Nothing to register: WeCom calls us at the URL set in the admin console."""

    async def stop(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10.0):
                await self.drain()
        for task in list(self._tasks):
            task.cancel()
        await self.api.close()

    async def open_for_sending(self) -> None:
        """`qabot remind`: nothing to open; the token is fetched on the first send."""

    async def close_for_sending(self) -> None:
        await self.api.close()

    async def drain(self) -> None:
        """Wait until every callback received so far has been handled (tests, shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Send one outbox message; over the member's rate it goes back with retry_after."""
        await self._send_reply(chat_id, reply, wait=False)

    # --- the callback ------------------------------------------------------------------------

    async def callback(self, request: Request) -> Response:
        """URL verification (GET) or an encrypted message (POST); 4xx for anything invalid."""
        try:
            if request.method == "GET":
                return await self._verify_url(request)
            return await self._receive(request)
        except (SignatureError, CorpIdMismatch, StaleTimestamp) as refused:
            log.warning("WeCom callback refused: %s", refused)
            return PlainTextResponse("forbidden", status_code=403)
        except MalformedMessage as malformed:
            log.warning("WeCom callback malformed: %s", malformed)
            return PlainTextResponse("bad request", status_code=400)
        except Exception:
            # Never a 5xx for what a client sent; WeCom would only retry the same thing.
            log.exception("WeCom callback could not be read")
            return PlainTextResponse("bad request", status_code=400)

    def _query(self, request: Request, *names: str) -> list[str]:
        values = [request.query_params.get(name, "") for name in names]
        if not all(values):
            raise MalformedMessage("missing query parameter")
        timestamp = values[names.index("timestamp")]
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            raise MalformedMessage("timestamp is not a number")
        if abs(self._wall_clock() - int(timestamp)) > MAX_TIMESTAMP_SKEW:
            raise StaleTimestamp(f"timestamp {timestamp} is more than 300 s off")
        return values

    async def _verify_url(self, request: Request) -> Response:
        signature, timestamp, nonce, echostr = self._query(
            request, "msg_signature", "timestamp", "nonce", "echostr"
        )
        plain = self.crypto.verify_url(signature, timestamp, nonce, echostr)
        return PlainTextResponse(plain)

    async def _receive(self, request: Request) -> Response:
        signature, timestamp, nonce = self._query(request, "msg_signature", "timestamp", "nonce")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise MalformedMessage("body too large")
        inner = self.crypto.decrypt_message(bytes(body), signature, timestamp, nonce)
        root = parse_xml_element(inner)
        agent = (root.findtext("AgentID") or "").strip()
        if agent and agent != self.agent_id:
            log.warning("WeCom callback for agent %s ignored (we are %s)", agent, self.agent_id)
            return Response(status_code=200)
        callback = parse_callback(root)
        if callback is not None and self._first_time(callback.update_key):
            stored = asyncio.Event()
            task = asyncio.create_task(self._process(callback, stored))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            # Answer once the turn is committed: WeCom sends an unanswered callback again, so
            # a crash before this point loses nothing (the redelivery is deduplicated). A slow
            # turn is answered anyway in time, and goes on in the background.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stored.wait(), self.answer_within)
        return Response(status_code=200)

    def _first_time(self, update_key: str) -> bool:
        """False for a callback already received by this process (the database also knows)."""
        if update_key in self._recent:
            log.info("WeCom redelivery %s ignored", update_key)
            return False
        self._recent[update_key] = None
        while len(self._recent) > RECENT_KEYS:
            self._recent.popitem(last=False)
        return True

    # --- handling ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _user_lock(self, user: str) -> AsyncIterator[None]:
        """One callback at a time per member, so replies keep the order of the messages."""
        lock, users = self._user_locks.get(user) or (asyncio.Lock(), 0)
        self._user_locks[user] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            # Forget the lock only when nobody holds or awaits it (FIFO order is kept).
            lock, users = self._user_locks[user]
            if users == 1:
                del self._user_locks[user]
            else:
                self._user_locks[user] = (lock, users - 1)

    def _event(self, callback: Callback, **extra: Any) -> IncomingEvent:
        user = callback.user_id
        common: dict[str, Any] = {"update_key": callback.update_key, **extra}
        if callback.text is not None:
            return IncomingEvent.from_text(CHANNEL, user, user, callback.text, **common)
        return IncomingEvent(
            CHANNEL, user, user, payload=callback.payload, selected=callback.selected, **common
        )

    async def _process(self, callback: Callback, stored: asyncio.Event) -> None:
        user = callback.user_id
        async with self._user_lock(user):
            try:
                replies = await self._handle(callback)
            except Exception:
                log.exception("WeCom update %s failed", callback.update_key)
                language = await self._language(user)
                replies = [Reply(text=translate(language, "error.internal"))]
            finally:
                stored.set()
            if self.after_turn is not None:
                self.after_turn()
            if callback.response_code:
                await self._mark_handled(user, callback.response_code)
            await self._send_replies(callback, replies)

    async def _handle(self, callback: Callback) -> list[Reply]:
        if callback.media_id is None:
            return await handle(self.core, self._event(callback))
        try:
            async with self.api.media(callback.media_id) as response:
                incoming = _incoming_file(response, callback)
                return await handle(self.core, self._event(callback, file=incoming))
        except (WeComApiError, WeComUnreachable) as error:
            log.warning("WeCom media %s not downloaded: %s", callback.media_id, error)
            language = await self._language(callback.user_id)
            return [Reply(text=translate(language, "wecom.media_failed"))]

    async def _language(self, user: str) -> str:
        async with self.core.sessions() as session:
            person = await person_for_identity(session, CHANNEL, user)
        return language_of(person, self.default_language) if person else self.default_language

    async def _mark_handled(self, user: str, response_code: str) -> None:
        """Show the pressed card as handled (its buttons become one disabled label)."""
        label = translate(await self._language(user), "wecom.card_handled")
        try:
            await self.api.update_card_button(user, response_code, label)
        except (WeComApiError, WeComUnreachable) as error:
            # Cosmetic: the press itself was handled; a used or expired code is no loss.
            log.info("WeCom card of %s not marked handled: %s", user, error)

    async def _send_replies(self, callback: Callback, replies: list[Reply]) -> None:
        """Send the turn's replies now; what still fails goes to the durable outbox."""
        for index, reply in enumerate(replies):
            for attempt in range(INLINE_RETRIES + 1):
                try:
                    await self._send_reply(callback.user_id, reply, wait=True)
                    break
                except DeliveryError as error:
                    if error.permanent or attempt == INLINE_RETRIES:
                        log.warning(
                            "WeCom reply to %s not sent (%s); queued", callback.user_id, error
                        )
                        await self._queue(callback, replies[index:], index, error)
                        return
                    await asyncio.sleep(min(error.retry_after or 0.0, 5.0) or INLINE_RETRY_DELAY)

    async def _queue(
        self, callback: Callback, replies: list[Reply], first: int, error: DeliveryError
    ) -> None:
        if error.permanent:
            return
        async with self.core.sessions() as session, session.begin():
            person = await person_for_identity(session, CHANNEL, callback.user_id)
            if person is None:
                return  # nobody to queue for: an unbound member only gets direct answers
            now = self.core.clock.now()
            for index, reply in enumerate(replies, first):
                dedupe = f"{person.id}:reply:{callback.update_key}:{index}"
                note = Notification(person.id, "reply", dedupe, reply.to_json(), urgent=True)
                await enqueue(session, note, now)

    # --- sending -----------------------------------------------------------------------------

    async def _send_reply(self, user: str, reply: Reply, wait: bool) -> None:
        messages = render(reply)
        identity = reply.to_json()
        if reply.file is not None:
            # The file goes last, as its own image or file message (uploaded when its turn comes).
            messages.append({"msgtype": UPLOAD})
            identity["file"] = hashlib.sha256(reply.file.content).hexdigest()
        fingerprint = hashlib.sha256(
            json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        progress_key = (user, fingerprint)
        done = self._progress.get(progress_key, 0)
        pending = messages[done:]
        # Reserve room for the whole reply first: never half a reply, never over the limit.
        delay = self._pacer.wait_for(user, min(len(pending), MEMBER_LIMIT))
        if delay > 0:
            if not wait:
                raise DeliveryError("WeCom member rate limit (30/min)", retry_after=delay)
            await asyncio.sleep(delay)
        for message in pending:
            if (delay := self._pacer.wait_for(user, 1)) > 0:
                await asyncio.sleep(delay)
            try:
                if message["msgtype"] == UPLOAD:
                    assert reply.file is not None
                    message = await self._uploaded(reply.file)
                self._pacer.record(user)
                result = await self.api.send({"touser": user, **message})
            except WeComApiError as error:
                self._progress[progress_key] = done
                raise _delivery_error(error) from error
            except WeComUnreachable as error:
                self._progress[progress_key] = done
                raise DeliveryError(str(error)) from error
            if result.get("invaliduser"):
                self._progress.pop(progress_key, None)
                raise DeliveryError(f"WeCom user {user} is invalid", permanent=True)
            done += 1
        self._progress.pop(progress_key, None)

    async def _uploaded(self, file: OutgoingFile) -> JSON:
        """Upload a file through media/upload and return the message that shows it."""
        kind = "image" if file.mime_type in ("image/png", "image/jpeg") else "file"
        if kind == "image" and len(file.content) > MAX_UPLOAD_IMAGE:
            kind = "file"
        media_id = await self.api.upload(kind, file.file_name, file.content, file.mime_type)
        return {"msgtype": kind, kind: {"media_id": media_id}}


def _delivery_error(error: WeComApiError) -> DeliveryError:
    if error.errcode in RECIPIENT_ERRORS:
        return DeliveryError(str(error), permanent=True)
    if error.errcode == 45009:
        # Frequency limit: come back later rather than right away.
        return DeliveryError(str(error), retry_after=60.0)
    return DeliveryError(str(error))


def _incoming_file(response: httpx.Response, callback: Callback) -> IncomingFile:
    mime = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    extension = {"image": ".jpg", "voice": ".amr", "video": ".mp4"}.get(callback.media_kind, "")
    name = _file_name(response, f"{callback.media_kind}{extension}")
    if not mime or mime == "application/octet-stream":
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    length = response.headers.get("content-length", "")
    size = int(length) if length.isdigit() else 0

    async def load() -> bytes:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_FILE_BYTES:
                break  # enough to know it is too large
        return bytes(body)

    return IncomingFile(file_name=name, mime_type=mime, size=size, load=load)
