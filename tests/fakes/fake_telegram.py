"""A local fake of the Telegram Bot API, strict where Telegram is strict.

End-to-end tests run the real python-telegram-bot application against it::

    async with FakeTelegram(token="123:ABC", username="qabot_test_bot") as tg:
        app = (Application.builder().token(tg.token).base_url(tg.base_url)
               .base_file_url(tg.base_file_url).build())
        ...
        tg.user_sends_text(1001, "/start")
        await tg.wait_for(lambda m: "welcome" in (m.text or ""))
        assert tg.rejected == [] and tg.rate_limited == 0

Requests are accepted as Telegram accepts them: GET query, urlencoded or multipart form (values are
strings, JSON-encoded for objects such as ``reply_markup``), or a JSON body.  Errors are answered
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``, HTTP status N.

What is checked (descriptions are Telegram's own where known):
* text 1..4096 and caption 0..1024 UTF-16 code units *after* entity parsing; whitespace-only text is
  "message text is empty"; callback answers <= 200 ("MESSAGE_TOO_LONG").
* parse_mode HTML: Telegram's tags (b strong i em u ins s strike del span.tg-spoiler tg-spoiler a
  code pre blockquote tg-emoji), nesting, attributes, ``&lt; &gt; &amp; &quot;`` and numeric
  entities.  A bare ``&`` is rejected (``strict_ampersand``; real Telegram passes it through
  although its documentation requires escaping).  Bare ``>`` is accepted, like Telegram.
* parse_mode MarkdownV2: a port of Telegram's algorithm - every one of ``_*[]()~`>#+-=|{}.!``
  outside code must be escaped unless it is markup (bold, italic, __underline__, ~strike~,
  ||spoiler||, [link](url), ![emoji](tg://emoji?id=..), `code`, ```pre```, ``>`` quote at a line
  start, ``**>`` expandable quote); unclosed entities are errors.  Legacy "Markdown" is supported.
* inline keyboards: <= 100 buttons, every button has text and exactly one action field,
  callback_data 1..64 UTF-8 bytes (BUTTON_DATA_INVALID), url http(s)/tg (BUTTON_URL_INVALID).
* unknown chats ("chat not found": a chat is known once the test made its user write, or
  ``add_user``), replies to missing messages, edits (not found / not modified / no text),
  editing text without ``reply_markup`` removes the keyboard (as Telegram does), one answer per
  callback query within ``callback_query_ttl`` seconds, getFile over 20 MB, setMyCommands rules,
  concurrent getUpdates (409 to the older one), getUpdates while a webhook is set (409).
* rate limits (``enforce_rate_limits``, default True) on sendMessage/sendPhoto/sendDocument:
  30 per rolling second overall; private chats a token bucket of ``chat_burst`` (3) refilled at
  ``chat_rate`` (1/s); groups 20 per rolling minute.  Answers 429 "Too Many Requests: retry after N"
  with ``parameters.retry_after``; each such answer increments ``rate_limited``.  Edits, callback
  answers and chat actions are not rate limited here.

Bookkeeping for assertions: ``requests`` (every call), ``rejected`` (4xx caused by the request:
not injected faults, not rate-limit 429s, not 403s for chats the test blocked - those are in
``forbidden``), ``rate_limited``, ``faults_served``, ``dropped_pending_updates``,
``filtered_updates``, ``callback_answers``.

Injected faults (``inject_errors``/``fault_rate``) hit only ``fault_methods`` (the three send
methods): 429 as JSON with retry_after, 502/503/504 as nginx's HTML page (so the client sees a
non-JSON body), other codes as JSON, ``RESET`` closes the connection unprocessed, and
``LOST_RESPONSE`` delivers the message but closes the connection instead of answering.

Not modelled: HTML/MarkdownV2 entity nesting restrictions, buttons-per-row limits, the 48-hour
edit/delete window, media dimensions/size limits of photos, concurrent webhook connections
(updates are POSTed one at a time, in order, retried every ``webhook_retry_delay`` seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import re
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, NoReturn
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_TEXT = 200
MAX_BUTTONS = 100
MAX_GETFILE_SIZE = 20 * 1024 * 1024
MAX_UPLOAD_SIZE = 50 * 1024 * 1024
RESET = -1  # fault: close the connection before the request is processed
LOST_RESPONSE = -2  # fault: process the request, then close the connection (reply lost)
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup"})
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current message content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "copy_text",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "callback_game", "pay",
)
_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_NGINX_PAGE = (
    "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n"
    "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
)
_PHRASES = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Time-out", 400: "Bad Request", 403: "Forbidden", 409: "Conflict"}

Json = dict[str, Any]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    def __init__(self, status: int, description: str, *, retry_after: int | None = None,
                 kind: str = "rejected") -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after, self.kind = (
            status, description, retry_after, kind)


class Call(NamedTuple):
    method: str
    params: Json


@dataclass
class Rejection:
    method: str
    params: Json
    status: int
    description: str


@dataclass
class Upload:
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class Fault:
    status: int  # an HTTP status, RESET or LOST_RESPONSE
    description: str | None = None
    retry_after: int = 1


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    size: int
    content: bytes | None
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class StoredMessage:
    """A message as the fake holds it.  ``text`` is what the user sees (text or caption, markup
    resolved); ``raw_text`` is what was sent."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    kind: str  # "text" | "photo" | "document"
    text: str | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    entities: list[Json] = field(default_factory=list)
    reply_markup: Json | None = None
    edited: bool = False
    edit_date: int | None = None
    deleted: bool = False
    history: list[str | None] = field(default_factory=list)  # texts before each edit
    file_id: str | None = None
    media: Json = field(default_factory=dict)
    sender: Json | None = None
    reply_to: int | None = None

    @property
    def buttons(self) -> list[Json]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]


# --------------------------------------------------------------------------- entity parsing


@dataclass
class _Open:
    tag: str
    pos: int  # UTF-16 offset in the output
    part: int  # index into the output parts (to recover the inner text)
    byte: int  # byte offset in the source, for error messages
    attrs: dict[str, str] = field(default_factory=dict)


class _Builder:
    def __init__(self, src: str) -> None:
        self.src = src
        self.parts: list[str] = []
        self.pos = 0  # UTF-16 length of the output so far
        self.entities: list[Json] = []

    def emit(self, s: str) -> None:
        self.parts.append(s)
        self.pos += utf16_len(s)

    def at(self, i: int) -> int:
        return len(self.src[:i].encode())

    def fail(self, message: str) -> NoReturn:
        raise ApiError(400, "Bad Request: can't parse entities: " + message)

    def inner(self, o: _Open) -> str:
        return "".join(self.parts[o.part:])

    def add(self, etype: str, start: int, end: int | None = None, **extra: Any) -> None:
        end = self.pos if end is None else end
        if end > start:
            self.entities.append({"type": etype, "offset": start, "length": end - start, **extra})

    def result(self) -> tuple[str, list[Json]]:
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(
    r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7})|(lt|gt|amp|quot)(?![A-Za-z]));?")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_entity(src: str, i: int) -> tuple[str, int] | None:
    m = _HTML_ENTITY.match(src, i)
    if m is None:
        return None
    if m.group(3):
        return _NAMED[m.group(3)], m.end()
    code = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
    if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), m.end()


def _html_attributes(b: _Builder, j: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    src, n = b.src, len(b.src)
    attrs: dict[str, str] = {}
    unclosed = f"Unclosed start tag at byte offset {begin}"
    while True:
        while j < n and src[j].isspace():
            j += 1
        if j >= n:
            b.fail(unclosed)
        if src[j] == ">":
            return attrs, j + 1
        k = j
        while k < n and not src[k].isspace() and src[k] not in "=>":
            k += 1
        name = src[j:k].lower()
        if not name:
            b.fail(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        while k < n and src[k].isspace():
            k += 1
        if k < n and src[k] != "=":  # value-less attribute, e.g. <blockquote expandable>
            attrs[name], j = "", k
            continue
        k += 1
        while k < n and src[k].isspace():
            k += 1
        if k >= n:
            b.fail(unclosed)
        if src[k] in "'\"":
            quote, k, value = src[k], k + 1, []
            while k < n and src[k] != quote:
                decoded = _decode_entity(src, k) if src[k] == "&" else None
                if decoded:
                    value.append(decoded[0])
                    k = decoded[1]
                else:
                    value.append(src[k])
                    k += 1
            if k >= n:
                b.fail(unclosed)
            attrs[name], j = "".join(value), k + 1
        else:
            t = k
            while k < n and (src[k].isascii() and src[k].isalnum() or src[k] in ".-"):
                k += 1
            if k >= n:
                b.fail(unclosed)
            if not src[k].isspace() and src[k] != ">":
                b.fail(f"Unexpected end of name token at byte offset {b.at(t)}")
            attrs[name], j = src[t:k].lower(), k


def parse_html(src: str, *, strict_ampersand: bool = True) -> tuple[str, list[Json]]:
    b, stack, i, n = _Builder(src), list[_Open](), 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            decoded = _decode_entity(src, i)
            if decoded is None and strict_ampersand:
                b.fail(f"Character '&' at byte offset {b.at(i)} must be escaped as &amp; "
                       "(the fake is stricter than Telegram, which follows its documentation)")
            b.emit(decoded[0] if decoded else "&")
            i = decoded[1] if decoded else i + 1
            continue
        if c != "<":
            j = i + 1
            while j < n and src[j] not in "<&":
                j += 1
            b.emit(src[i:j])
            i = j
            continue
        begin = b.at(i)
        if src.startswith("</", i):
            j = i + 2
            while j < n and not src[j].isspace() and src[j] != ">":
                j += 1
            name = src[i + 2:j].lower()
            while j < n and src[j].isspace():
                j += 1
            if j >= n or src[j] != ">":
                b.fail(f"Unclosed end tag at byte offset {begin}")
            if not stack:
                b.fail(f"Unexpected end tag at byte offset {begin}")
            o = stack.pop()
            if name != o.tag:
                b.fail(f'Unmatched end tag at byte offset {begin}, '
                       f'expected "</{o.tag}>", found "</{name}>"')
            _close_html(b, o, stack)
            i = j + 1
            continue
        j = i + 1
        while j < n and not src[j].isspace() and src[j] != ">":
            j += 1
        if j >= n:
            b.fail(f"Unclosed start tag at byte offset {begin}")
        name = src[i + 1:j].lower()
        if name not in _HTML_TAGS:
            b.fail(f'Unsupported start tag "{name}" at byte offset {begin}')
        attrs, i = _html_attributes(b, j, name, begin)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            b.fail(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            b.fail(f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset {begin}')
        stack.append(_Open(name, b.pos, len(b.parts), begin, attrs))
    if stack:
        b.fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return b.result()


def _close_html(b: _Builder, o: _Open, stack: list[_Open]) -> None:
    etype, extra = _HTML_TAGS[o.tag], dict[str, Any]()
    if o.tag == "a":
        extra["url"] = o.attrs.get("href") or b.inner(o)
    elif o.tag == "code" and stack and stack[-1].tag == "pre":
        language = o.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].attrs["language"] = language.removeprefix("language-")
            return  # <pre><code class="language-x"> is one pre entity with a language
    elif o.tag == "pre" and o.attrs.get("language"):
        extra["language"] = o.attrs["language"]
    elif o.tag == "blockquote" and "expandable" in o.attrs:
        etype = "expandable_blockquote"
    elif o.tag == "tg-emoji":
        extra["custom_emoji_id"] = o.attrs["emoji-id"]
    b.add(etype, o.pos, **extra)


_MD2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MD2_NAMES = {"bold": "Bold", "italic": "Italic", "underline": "Underline", "code": "Code",
              "strikethrough": "Strikethrough", "spoiler": "Spoiler", "pre": "Pre",
              "text_link": "TextUrl", "custom_emoji": "CustomEmoji"}
_EMOJI_URL = re.compile(r"\(tg://emoji\?id=(\d+)\)")


def _md2_closes(tag: str | None, src: str, i: int) -> bool:
    c = src[i]
    return {
        "bold": c == "*", "italic": c == "_" and not src.startswith("__", i),
        "underline": src.startswith("__", i), "strikethrough": c == "~",
        "spoiler": src.startswith("||", i), "code": c == "`", "pre": src.startswith("```", i),
        "text_link": c == "]", "custom_emoji": c == "]",
    }.get(tag or "", False)


def parse_markdown_v2(src: str) -> tuple[str, list[Json]]:
    b, stack, i, n = _Builder(src), list[_Open](), 0, len(src)
    quote: _Open | None = None
    while i < n:
        c = src[i]
        in_code = bool(stack) and stack[-1].tag in ("code", "pre")
        if not in_code and (i == 0 or src[i - 1] == "\n"):
            marker = 3 if src.startswith("**>", i) else 1 if c == ">" else 0
            if marker:
                if quote is None:
                    tag = "expandable_blockquote" if marker == 3 else "blockquote"
                    quote = _Open(tag, b.pos, len(b.parts), b.at(i))
                i += marker
                continue
            if quote is not None:
                b.add(quote.tag, quote.pos, b.pos - 1)
                quote = None
        if c == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            b.emit(src[i + 1])
            i += 2
            continue
        if (quote is not None and quote.tag == "expandable_blockquote" and not in_code
                and src.startswith("||", i) and src[i + 2:i + 3] in ("", "\n")
                and not (stack and stack[-1].tag == "spoiler")):
            i += 2  # the "||" that ends an expandable block quotation
            continue
        reserved = "`" if in_code else _MD2_RESERVED
        if c not in reserved:
            j = i + 1
            while j < n and src[j] not in reserved and src[j] not in "\\\n":
                j += 1
            b.emit(src[i:j])
            i = j
            continue
        if not _md2_closes(stack[-1].tag if stack else None, src, i):
            start, step, attrs = b.at(i), 1, {}
            if c == "_" and src.startswith("__", i):
                tag, step = "underline", 2
            elif c in "_*~[":
                tag = {"_": "italic", "*": "bold", "~": "strikethrough", "[": "text_link"}[c]
            elif src.startswith("||", i):
                tag, step = "spoiler", 2
            elif src.startswith("![", i):
                tag, step = "custom_emoji", 2
            elif src.startswith("```", i):
                tag, step = "pre", 3
                k = i + 3
                while k < n and not src[k].isspace() and src[k] != "`":
                    k += 1
                if k != i + 3 and k < n and src[k] != "`":
                    attrs["language"], step = src[i + 3:k], k - i
                rest = src[i + step:i + step + 2]
                step += 2 if rest in ("\r\n", "\n\r") else 1 if rest[:1] in ("\r", "\n") else 0
            elif c == "`":
                tag = "code"
            else:
                b.fail(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
            stack.append(_Open(tag, b.pos, len(b.parts), start, attrs))
            i += step
            continue
        o = stack.pop()
        i += {"underline": 2, "spoiler": 2, "pre": 3}.get(o.tag, 1)
        extra: Json = {}
        if o.tag == "text_link":
            if src.startswith("(", i):
                i, url_begin, url = i + 1, i + 1, []
                while i < n and src[i] != ")":
                    escaped = src[i] == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126
                    url.append(src[i + 1] if escaped else src[i])
                    i += 2 if escaped else 1
                if i >= n:
                    b.fail(f"Can't find end of a URL at byte offset {b.at(url_begin)}")
                i += 1
                extra["url"] = "".join(url)
            else:
                extra["url"] = b.inner(o)
        elif o.tag == "custom_emoji":
            m = _EMOJI_URL.match(src, i)
            if m is None:
                b.fail("Custom emoji entity must contain a tg://emoji URL")
            extra["custom_emoji_id"], i = m.group(1), m.end()
        elif o.attrs.get("language"):
            extra["language"] = o.attrs["language"]
        b.add(o.tag, o.pos, **extra)
    if stack:
        b.fail(f"Can't find end of {_MD2_NAMES[stack[-1].tag]} entity at byte offset "
               f"{stack[-1].byte}")
    if quote is not None:
        b.add(quote.tag, quote.pos)
    return b.result()


def parse_markdown(src: str) -> tuple[str, list[Json]]:
    """Legacy Markdown: _italic_ *bold* `code` ```pre``` [text](url); only _*`[ are special."""
    b, i, n = _Builder(src), 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and src[i + 1:i + 2] in ("_", "*", "`", "["):
            b.emit(src[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            j = i + 1
            while j < n and src[j] not in "_*`[\\":
                j += 1
            b.emit(src[i:j])
            i = j
            continue
        begin, end_char, is_pre = b.at(i), "]" if c == "[" else c, False
        extra: Json = {}
        i += 1
        if c == "`" and src.startswith("``", i):
            i, is_pre = i + 2, True
            k = i
            while k < n and not src[k].isspace() and src[k] != "`":
                k += 1
            if k != i and k < n and src[k] != "`":
                extra["language"], i = src[i:k], k
            i += 2 if src[i:i + 2] in ("\r\n", "\n\r") else 1 if src[i:i + 1] in ("\r", "\n") else 0
        j = i
        while j < n and (src[j] != end_char or (is_pre and not src.startswith("```", j))):
            j += 1
        if j >= n:
            b.fail(f"Can't find end of the entity starting at byte offset {begin}")
        start, inner = b.pos, src[i:j]
        b.emit(inner)
        i = j + (3 if is_pre else 1)
        if c == "[":
            if src.startswith("(", i):
                k = src.find(")", i)
                k = n if k < 0 else k
                extra["url"], i = src[i + 1:k], k + 1
            else:
                extra["url"] = inner
        etype = {"_": "italic", "*": "bold", "[": "text_link"}.get(c, "pre" if is_pre else "code")
        b.add(etype, start, **extra)
    return b.result()


def _command_entities(text: str) -> list[Json]:
    return [{"type": "bot_command", "offset": utf16_len(text[:m.start()]),
             "length": utf16_len(m.group())} for m in _COMMAND_RE.finditer(text)]


# --------------------------------------------------------------------------- parameters


def _json_param(value: Any, error: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ApiError(400, error) from None


def _int_param(p: Json, name: str, default: int | None = None) -> int:
    value = p.get(name)
    if value is None or value == "":
        if default is None:
            raise ApiError(400, f"Bad Request: {name} is empty")
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


def _bool_param(p: Json, name: str) -> bool:
    return p.get(name) in (True, 1, "true", "True", "1")


def _check_reply_markup(raw: Any, *, inline_only: bool = False) -> Json | None:
    if raw is None or raw == "":
        return None
    markup = _json_param(raw, "Bad Request: can't parse reply keyboard markup JSON object")
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if inline_only or not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup '
                            "should be an Array of Arrays")
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise ApiError(400, "Bad Request: reply markup is too long")
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                'Field "text" must be of type String')
        if not button["text"].strip():
            raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
        actions = [key for key in _BUTTON_ACTIONS if key in button]
        if not actions:
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: "
                                "Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: exactly one "
                                f"optional field must be used, got {actions} (fake_telegram)")
        data = button.get("callback_data")
        if "callback_data" in button and (
                not isinstance(data, str) or not 1 <= len(data.encode()) <= 64):
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        url = button.get("url")
        if "url" in button and (not isinstance(url, str) or urlsplit(url).scheme.lower()
                                not in ("http", "https", "tg") or not urlsplit(url).netloc):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
    return markup


async def _read_params(request: web.Request) -> Json:
    """Parameters from the query, a JSON body or a form; uploaded files become Upload values."""
    params: Json = dict(request.query)
    if request.method == "POST" and request.body_exists:
        if request.content_type == "application/json":
            body = _json_param(await request.text(), "Bad Request: can't parse JSON object")
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: can't parse JSON object")
            params.update(body)
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    params[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    params[key] = value
    return params


# --------------------------------------------------------------------------- the server

Handler = Callable[[Json, web.Request], Awaitable[Any]]


class FakeTelegram:
    """An aiohttp server speaking the Bot API on 127.0.0.1; use as ``async with``.

    Drive it with ``user_sends_text / user_sends_photo / user_sends_document /
    user_presses_button / push_update`` (updates are queued for getUpdates, or POSTed to the
    webhook once the bot set one), arrange trouble with ``block``, ``inject_errors``,
    ``fault_rate``, and observe with ``sent_messages``, ``wait_for`` and the lists named in the
    module docstring.  Limits are plain attributes: ``enforce_rate_limits``,
    ``global_rate_limit`` (30/s), ``chat_burst`` (3) and ``chat_rate`` (1/s) for private chats,
    ``group_rate_limit`` (20/min), ``monotonic`` (the clock they are counted on),
    ``callback_query_ttl`` (15 s, None = forever), ``strict_ampersand``, ``fault_methods``,
    ``webhook_auto_deliver``.
    """

    def __init__(self, token: str = "123:ABC", username: str = "qabot_test_bot", *,
                 first_name: str = "QA Bot", port: int = 0, enforce_rate_limits: bool = True,
                 strict_ampersand: bool = True, callback_query_ttl: float | None = 15.0) -> None:
        self.token, self.username, self.port = token, username, port
        self.me: Json = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": first_name,
                         "username": username, "can_join_groups": True,
                         "can_read_all_group_messages": False, "supports_inline_queries": False,
                         "can_connect_to_business": False, "has_main_web_app": False}
        self.enforce_rate_limits = enforce_rate_limits
        # The clock of the limits: a test may share its virtual time with qabot's pacing.
        self.monotonic: Callable[[], float] = time.monotonic
        self.global_rate_limit, self.chat_burst, self.chat_rate, self.group_rate_limit = (
            30, 3, 1.0, 20)
        self.strict_ampersand = strict_ampersand
        self.callback_query_ttl = callback_query_ttl
        self.fault_methods: frozenset[str] = SEND_METHODS
        self.webhook_auto_deliver, self.webhook_retry_delay = True, 0.5
        self.requests: list[Call] = []
        self.rejected: list[Rejection] = []
        self.forbidden: list[Call] = []
        self.rate_limited = 0
        self.faults_served: list[tuple[str, int]] = []
        self.dropped_pending_updates: list[tuple[str, int]] = []
        self.filtered_updates: list[Json] = []
        self.callback_answers: dict[str, Json] = {}
        self.commands: dict[tuple[str, str], list[Json]] = {}
        self._users: dict[int, Json] = {}
        self._chats: dict[int, Json] = {}
        self._blocked: set[int] = set()
        self._messages: dict[tuple[int, int], StoredMessage] = {}
        self._sent: list[StoredMessage] = []
        self._last_mid: dict[int, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._callbacks: dict[str, float] = {}
        self._updates: list[Json] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._poller: asyncio.Future[None] | None = None
        self._update_event = asyncio.Event()
        self._sent_event = asyncio.Event()
        self._webhook: Json | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._session: ClientSession | None = None
        self._faults: list[Fault] = []
        self._fault_rate, self._fault_rng = 0.0, random.Random()
        self._fault_codes: tuple[int, ...] = (429, 502)
        self._ids = random.Random()
        self._global_window: deque[float] = deque()
        self._chat_buckets: dict[int, tuple[float, float]] = {}
        self._group_windows: dict[int, deque[float]] = {}
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, getattr(self, "_m_" + name)) for name in (
                "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
                "setMyCommands", "getMyCommands", "deleteMyCommands", "sendMessage",
                "editMessageText", "editMessageCaption", "editMessageReplyMarkup",
                "answerCallbackQuery", "sendPhoto", "sendDocument", "sendMediaGroup", "getFile",
                "deleteMessage",
                "sendChatAction", "setMyDescription", "setMyShortDescription", "setMyName",
                "setChatMenuButton")}

    # ---- lifecycle
    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=MAX_UPLOAD_SIZE + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        self._wake(self._update_event)
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ---- test hooks: users, updates
    def add_user(self, user_id: int, first_name: str | None = None, *,
                 last_name: str | None = None, username: str | None = None,
                 language_code: str | None = None) -> Json:
        """Make a user (and their private chat) known, as if they had started the bot."""
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"})
        for key, value in (("first_name", first_name), ("last_name", last_name),
                           ("username", username), ("language_code", language_code)):
            if value is not None:
                user[key] = value
        chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        chat.update({k: user[k] for k in ("last_name", "username") if k in user})
        self._chats[user_id] = chat
        return user

    def add_group(self, chat_id: int, title: str = "Test group") -> Json:
        self._chats[chat_id] = {"id": chat_id, "type": "group", "title": title}
        return self._chats[chat_id]

    def block(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def push_update(self, update: Json) -> Json:
        """Queue an update (``update_id`` assigned when missing); returns it."""
        update = dict(update)
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        kind = next((key for key in update if key != "update_id"), "")
        if self._allowed_updates:
            unwanted = kind not in self._allowed_updates
        else:
            unwanted = kind in _OPT_IN_UPDATES
        if unwanted:
            self.filtered_updates.append(update)  # Telegram never creates such updates
            return update
        self._updates.append(update)
        self._update_event = self._wake(self._update_event)
        self._kick_webhook()
        return update

    def user_sends_text(self, user_id: int, text: str, *, first_name: str | None = None,
                        language_code: str | None = None, username: str | None = None,
                        chat_id: int | None = None) -> Json:
        message = self._user_message(user_id, chat_id, first_name, language_code, username,
                                     kind="text", text=text, entities=_command_entities(text))
        return self.push_update({"message": message})

    def user_sends_photo(self, user_id: int, content: bytes, caption: str | None = None, *,
                         file_size: int | None = None, first_name: str | None = None,
                         language_code: str | None = None, chat_id: int | None = None) -> Json:
        """``file_size`` overrides the reported size (to fake a huge file cheaply)."""
        f = self.register_file(content, kind="photo", file_size=file_size)
        size = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": f.size,
                "width": 1280, "height": 960}
        message = self._user_message(user_id, chat_id, first_name, language_code, None,
                                     kind="photo", text=caption, media={"photo": [size]})
        return self.push_update({"message": message})

    def user_sends_document(self, user_id: int, content: bytes, file_name: str,
                            mime_type: str = "application/octet-stream",
                            caption: str | None = None, *, file_size: int | None = None,
                            first_name: str | None = None, language_code: str | None = None,
                            chat_id: int | None = None) -> Json:
        f = self.register_file(content, kind="document", file_name=file_name,
                               mime_type=mime_type, file_size=file_size)
        document = {"file_id": f.file_id, "file_unique_id": f.file_unique_id,
                    "file_name": file_name, "mime_type": mime_type, "file_size": f.size}
        message = self._user_message(user_id, chat_id, first_name, language_code, None,
                                     kind="document", text=caption, media={"document": document})
        return self.push_update({"message": message})

    def user_presses_button(self, user_id: int, message_id: int,
                            callback_data: str | None = None, *, button_text: str | None = None,
                            forge: bool = False, chat_id: int | None = None) -> Json:
        """Press an inline button of a message the bot sent (by callback_data or button text).
        ``forge=True`` sends any callback_data, as a tampered client could."""
        chat_id = user_id if chat_id is None else chat_id
        m = self._messages.get((chat_id, message_id))
        if m is None or not m.from_bot or m.deleted:
            raise LookupError(f"the bot has no message {message_id} in chat {chat_id}")
        if button_text is not None:
            found = [b for b in m.buttons if b["text"] == button_text and "callback_data" in b]
            if not found:
                raise LookupError(f"no callback button {button_text!r}; buttons: {m.buttons}")
            callback_data = found[0]["callback_data"]
        if callback_data is None:
            raise ValueError("give callback_data or button_text")
        if not forge and callback_data not in m.callback_data:
            raise LookupError(f"message {message_id} has no button with callback_data "
                              f"{callback_data!r}; it has {m.callback_data}")
        user = self._users.get(user_id) or self.add_user(user_id)
        query_id = str(self._ids.getrandbits(62))
        self._callbacks[query_id] = time.monotonic()
        return self.push_update({"callback_query": {
            "id": query_id, "from": user, "message": self._message_obj(m),
            "chat_instance": str(self._ids.getrandbits(62)), "data": callback_data,
        }})

    def register_file(self, content: bytes | None, *, kind: str = "document",
                      file_name: str | None = None, mime_type: str | None = None,
                      file_size: int | None = None) -> StoredFile:
        """Store a file for getFile and download; ``file_size`` overrides the reported size."""
        n = len(self._files) + 1
        suffix = (file_name or "").rpartition(".")[2] if file_name and "." in file_name else None
        folder, ext = ("photos", "jpg") if kind == "photo" else ("documents", suffix or "bin")
        f = StoredFile(
            file_id=f"{'AgAC' if kind == 'photo' else 'BQAC'}AgIAAxkBAAI{n:06d}"
                    f"{self._ids.getrandbits(64):016x}",
            file_unique_id=f"AQAD{n:04d}{self._ids.getrandbits(24):06x}",
            file_path=f"{folder}/file_{n}.{ext}",
            size=len(content or b"") if file_size is None else file_size,
            content=content, file_name=file_name, mime_type=mime_type)
        self._files[f.file_id] = self._paths[f.file_path] = f
        return f

    def stored_files(self) -> list[StoredFile]:
        """Every file the fake holds: sent by users, or uploaded by the bot (not by file id)."""
        return list(self._files.values())

    # ---- test hooks: faults
    def inject_errors(self, codes: Iterable[int | Fault]) -> None:
        """The next len(codes) calls of ``fault_methods`` (default: sendMessage, sendPhoto,
        sendDocument) fail with these: 429 (retry_after 1), 5xx, 4xx, RESET, LOST_RESPONSE."""
        self._faults.extend(c if isinstance(c, Fault) else Fault(c) for c in codes)

    def fault_rate(self, rate: float, codes: Iterable[int] = (429, 502),
                   seed: int | None = None) -> None:
        """Fail this fraction of ``fault_methods`` calls at random with one of ``codes``."""
        self._fault_rate, self._fault_codes = rate, tuple(codes)
        self._fault_rng = random.Random(seed)

    # ---- test hooks: observation
    def sent_messages(self, chat_id: int | None = None, *,
                      include_deleted: bool = False) -> list[StoredMessage]:
        return [m for m in self._sent if (chat_id is None or m.chat_id == chat_id)
                and (include_deleted or not m.deleted)]

    def mark(self) -> int:
        """A position for ``wait_for(..., since=)``: only messages sent after it are matched."""
        return len(self._sent)

    async def wait_for(self, predicate: Callable[[StoredMessage], bool],
                       timeout: float = 5.0, *, since: int = 0,  # noqa: ASYNC109
                       ) -> StoredMessage:
        """Wait until a (not deleted) bot message, as currently stored, matches."""
        deadline = time.monotonic() + timeout
        while True:
            event = self._sent_event
            for m in self._sent[since:]:
                if not m.deleted and predicate(m):
                    return m
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(m.chat_id, m.message_id, m.text) for m in self._sent[since:]]
                raise TimeoutError(f"no matching bot message within {timeout}s; sent: {seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def unanswered_callback_queries(self) -> list[str]:
        return list(self._callbacks)

    # ---- webhook delivery
    async def deliver_webhook(self, update: Json) -> int:
        """POST an update to the registered webhook (with its secret token); the HTTP status."""
        if self._webhook is None:
            raise RuntimeError("no webhook is set: the bot never called setWebhook")
        headers = {"Content-Type": "application/json"}
        if self._webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook["secret_token"]
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=30))
        async with self._session.post(self._webhook["url"], data=json.dumps(update),
                                      headers=headers) as response:
            await response.read()
            return response.status

    def _kick_webhook(self) -> None:
        if self._webhook is None or not self.webhook_auto_deliver or self._closing:
            return
        if self._webhook_task is None or self._webhook_task.done():
            with contextlib.suppress(RuntimeError):  # no running loop: deliver later
                self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_all())

    async def _deliver_all(self) -> None:
        """Deliver queued updates in order; an update leaves the queue on a 2xx answer."""
        while self._webhook is not None and self._updates and not self._closing:
            update = self._updates[0]
            try:
                status, error = await self.deliver_webhook(update), ""
            except (ClientError, TimeoutError) as exc:
                status, error = 0, f"Connection failed: {exc!r}"
            if 200 <= status < 300:
                if self._updates and self._updates[0] is update:
                    self._updates.pop(0)
                continue
            if self._webhook is not None:
                self._webhook["last_error_date"] = int(time.time())
                self._webhook["last_error_message"] = (
                    error or f"Wrong response from the webhook: {status}")
            await asyncio.sleep(self.webhook_retry_delay)

    # ---- internals
    @staticmethod
    def _wake(event: asyncio.Event) -> asyncio.Event:
        event.set()
        return asyncio.Event()

    def _user_message(self, user_id: int, chat_id: int | None, first_name: str | None,
                      language_code: str | None, username: str | None, *, kind: str,
                      text: str | None, entities: list[Json] | None = None,
                      media: Json | None = None) -> Json:
        user = self.add_user(user_id, first_name, language_code=language_code, username=username)
        chat_id = user_id if chat_id is None else chat_id
        if chat_id not in self._chats:
            self.add_group(chat_id)
        m = self._store(chat_id, from_bot=False, kind=kind, text=text, raw_text=text,
                        entities=entities or [], media=media or {}, sender=user)
        return self._message_obj(m)

    def _store(self, chat_id: int, *, from_bot: bool, kind: str, **fields: Any) -> StoredMessage:
        self._last_mid[chat_id] = message_id = self._last_mid.get(chat_id, 0) + 1
        m = StoredMessage(chat_id, message_id, int(time.time()), from_bot, kind, **fields)
        self._messages[(chat_id, message_id)] = m
        if from_bot:
            self._sent.append(m)
            self._sent_event = self._wake(self._sent_event)
        return m

    def _message_obj(self, m: StoredMessage, nested: bool = True) -> Json:
        obj: Json = {"message_id": m.message_id, "from": self.me if m.from_bot else m.sender,
                     "chat": self._chats[m.chat_id], "date": m.date}
        if m.edit_date:
            obj["edit_date"] = m.edit_date
        obj.update(m.media)
        if m.kind == "text":
            obj["text"] = m.text
        elif m.text:
            obj["caption"] = m.text
        if m.entities:
            obj["entities" if m.kind == "text" else "caption_entities"] = m.entities
        if m.reply_markup and "inline_keyboard" in m.reply_markup:
            obj["reply_markup"] = m.reply_markup
        replied = self._messages.get((m.chat_id, m.reply_to or 0))
        if nested and replied is not None and not replied.deleted:
            obj["reply_to_message"] = self._message_obj(replied, nested=False)
        return obj

    def _chat(self, p: Json) -> int:
        raw = p.get("chat_id")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _check_blocked(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user" if chat_id > 0
                           else "Forbidden: bot was kicked from the group chat", kind="blocked")

    def _formatted(self, p: Json, key: str, limit: int, *, caption: bool) -> tuple[
            str | None, str | None, list[Json]]:
        raw = p.get(key)
        empty = "Bad Request: message text is empty"
        if raw is None or raw == "":
            if caption:
                return None, None, []
            raise ApiError(400, empty)
        raw = str(raw)
        mode = p.get("parse_mode") or None
        parsers: dict[str, Callable[[str], tuple[str, list[Json]]]] = {
            "html": lambda s: parse_html(s, strict_ampersand=self.strict_ampersand),
            "markdownv2": parse_markdown_v2, "markdown": parse_markdown}
        if mode is None:
            entities = _json_param(p.get("caption_entities" if caption else "entities") or [],
                                   "Bad Request: can't parse entities JSON object")
            text = raw
        elif str(mode).lower() in parsers:
            text, entities = parsers[str(mode).lower()](raw)
        else:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        if not caption and not text.strip():
            raise ApiError(400, empty)
        if utf16_len(text) > limit:
            raise ApiError(400, "Bad Request: message caption is too long" if caption
                           else "Bad Request: message is too long")
        return text, mode, entities

    def _reply_to(self, chat_id: int, p: Json) -> int | None:
        params = _json_param(p.get("reply_parameters") or {},
                             "Bad Request: can't parse reply parameters JSON object")
        if not isinstance(params, dict):
            raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
        target = params.get("message_id") or p.get("reply_to_message_id")
        if not target:
            return None
        m = self._messages.get((chat_id, int(target)))
        if m is None or m.deleted:
            if params.get("allow_sending_without_reply") or _bool_param(
                    p, "allow_sending_without_reply"):
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return m.message_id

    def _rate_check(self, chat_id: int) -> None:
        if not self.enforce_rate_limits:
            return
        now = self.monotonic()
        window = self._global_window
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.global_rate_limit:
            self._too_many(window[0] + 1.0 - now)
        if chat_id > 0:
            tokens, stamp = self._chat_buckets.get(chat_id, (float(self.chat_burst), now))
            tokens = min(float(self.chat_burst), tokens + (now - stamp) * self.chat_rate)
            if tokens < 1.0:
                self._chat_buckets[chat_id] = (tokens, now)
                self._too_many((1.0 - tokens) / self.chat_rate)
            self._chat_buckets[chat_id] = (tokens - 1.0, now)
        else:
            group = self._group_windows.setdefault(chat_id, deque())
            while group and now - group[0] >= 60.0:
                group.popleft()
            if len(group) >= self.group_rate_limit:
                self._too_many(group[0] + 60.0 - now)
            group.append(now)
        window.append(now)

    @staticmethod
    def _too_many(seconds: float) -> NoReturn:
        n = max(1, math.ceil(seconds))
        raise ApiError(429, f"Too Many Requests: retry after {n}", retry_after=n,
                       kind="rate_limited")

    def _take_fault(self, method: str) -> Fault | None:
        if method not in self.fault_methods:
            return None
        if self._faults:
            return self._faults.pop(0)
        if self._fault_rate and self._fault_rng.random() < self._fault_rate:
            return Fault(self._fault_rng.choice(self._fault_codes))
        return None

    @staticmethod
    def _error_response(status: int, description: str, retry_after: int | None = None
                        ) -> web.Response:
        body: Json = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    def _fault_response(self, fault: Fault) -> web.Response:
        if fault.status == 429:
            return self._error_response(
                429, fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                fault.retry_after)
        phrase = _PHRASES.get(fault.status, "Error")
        if fault.status in (502, 503, 504) and fault.description is None:
            return web.Response(status=fault.status, content_type="text/html",
                                text=_NGINX_PAGE.format(f"{fault.status} {phrase}"))
        return self._error_response(fault.status, fault.description or phrase)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        body_error: ApiError | None = None
        try:
            params = await _read_params(request)
        except ApiError as exc:
            params, body_error = {}, exc
        recorded = dict(params)
        self.requests.append(Call(name, recorded))
        if request.match_info["token"] != self.token:
            self.rejected.append(Rejection(name, recorded, 401, "Unauthorized"))
            return self._error_response(401, "Unauthorized")
        if name.lower() not in self._methods:
            self.rejected.append(Rejection(name, recorded, 404, "Not Found"))
            return self._error_response(404, "Not Found")
        method, handler = self._methods[name.lower()]
        fault = self._take_fault(method)
        if fault is not None:
            self.faults_served.append((method, fault.status))
            if fault.status == RESET:
                return self._drop(request)
            if fault.status != LOST_RESPONSE:
                return self._fault_response(fault)
        try:
            if body_error is not None:
                raise body_error
            try:
                result = await handler(params, request)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:  # malformed input
                raise ApiError(400, f"Bad Request: {type(exc).__name__}: {exc}") from exc
        except ApiError as exc:
            if exc.kind == "rate_limited":
                self.rate_limited += 1
            elif exc.kind == "blocked":
                self.forbidden.append(Call(method, recorded))
            elif exc.kind != "dead":
                self.rejected.append(Rejection(method, recorded, exc.status, exc.description))
            return self._error_response(exc.status, exc.description, exc.retry_after)
        if fault is not None:  # LOST_RESPONSE: the work is done but the reply never arrives
            return self._drop(request)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error_response(401, "Unauthorized")
        f = self._paths.get(request.match_info["path"])
        if f is None or f.content is None:
            return self._error_response(404, "Not Found")
        return web.Response(body=f.content, content_type="application/octet-stream")

    # ---- Bot API methods
    async def _m_getMe(self, p: Json, request: web.Request) -> Any:
        return self.me

    async def _m_getUpdates(self, p: Json, request: web.Request) -> Any:
        if self._webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = _int_param(p, "offset", 0)
        limit = min(max(_int_param(p, "limit", 100), 1), 100)
        timeout = max(_int_param(p, "timeout", 0), 0)
        if p.get("allowed_updates") not in (None, ""):
            allowed = _json_param(p["allowed_updates"], "Bad Request: can't parse allowed_updates")
            self._allowed_updates = list(allowed) or None
        if offset < 0:
            del self._updates[:max(len(self._updates) + offset, 0)]
        elif offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if self._poller is not None and not self._poller.done():
            self._poller.set_result(None)  # Telegram terminates the older long poll
        me = self._poller = asyncio.get_running_loop().create_future()
        deadline = time.monotonic() + timeout
        try:
            while True:
                if me.done():  # a newer getUpdates arrived; a poller whose client is gone
                    gone = request.transport is None or request.transport.is_closing()
                    raise ApiError(409, CONFLICT_POLL, kind="dead" if gone else "rejected")
                remaining = deadline - time.monotonic()
                if self._updates or self._closing or remaining <= 0:
                    break
                wake = asyncio.ensure_future(self._update_event.wait())
                await asyncio.wait([wake, me], timeout=remaining,
                                   return_when=asyncio.FIRST_COMPLETED)
                wake.cancel()
        finally:
            if self._poller is me:
                self._poller = None
        return self._updates[:limit]

    async def _m_setWebhook(self, p: Json, request: web.Request) -> Any:
        url = str(p.get("url") or "")
        if not url:
            return await self._m_deleteWebhook(p, request)
        parts = urlsplit(url)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for "
                                "webhook")
        if not local and (parts.port or 443) not in (80, 88, 443, 8443):
            raise ApiError(400, "Bad Request: bad webhook: Webhook can be set up only on ports "
                                "80, 88, 443 or 8443")
        secret = str(p.get("secret_token") or "")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get("allowed_updates") not in (None, ""):
            allowed = _json_param(p["allowed_updates"], "Bad Request: can't parse allowed_updates")
            self._allowed_updates = list(allowed) or None
        self._drop_pending("setWebhook", p)
        self._webhook = {"url": url, "secret_token": secret,
                         "max_connections": _int_param(p, "max_connections", 40)}
        self._kick_webhook()
        return True

    def _drop_pending(self, method: str, p: Json) -> None:
        if _bool_param(p, "drop_pending_updates"):
            self.dropped_pending_updates.append((method, len(self._updates)))
            self._updates.clear()

    async def _m_deleteWebhook(self, p: Json, request: web.Request) -> Any:
        self._drop_pending("deleteWebhook", p)
        self._webhook = None
        return True

    async def _m_getWebhookInfo(self, p: Json, request: web.Request) -> Any:
        info: Json = {"url": "", "has_custom_certificate": False,
                      "pending_update_count": len(self._updates)}
        if self._webhook is not None:
            info.update({k: v for k, v in self._webhook.items() if k != "secret_token"})
            if self._allowed_updates:
                info["allowed_updates"] = self._allowed_updates
        return info

    def _command_scope(self, p: Json) -> tuple[str, str]:
        language = str(p.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise ApiError(400, "Bad Request: invalid language code specified")
        scope = _json_param(p.get("scope") or {"type": "default"},
                            "Bad Request: can't parse BotCommandScope JSON object")
        kind = scope.get("type") if isinstance(scope, dict) else None
        simple = ("default", "all_private_chats", "all_group_chats", "all_chat_administrators")
        if kind in ("chat", "chat_administrators", "chat_member"):
            self._chat(scope)
            if kind == "chat_member" and "user_id" not in scope:
                raise ApiError(400, "Bad Request: user_id is empty")
            key = f"{kind}:{scope['chat_id']}:{scope.get('user_id', '')}"
        elif kind in simple:
            key = str(kind)
        else:
            raise ApiError(400, "Bad Request: unsupported bot command scope type")
        return key, language

    async def _m_setMyCommands(self, p: Json, request: web.Request) -> Any:
        commands = _json_param(p.get("commands") or [],
                               "Bad Request: can't parse commands JSON object")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands specified")
        for c in commands:
            for key in ("command", "description"):
                if not isinstance(c, dict) or not isinstance(c.get(key), str):
                    raise ApiError(400, f"Bad Request: can't parse BotCommand: Can't find field "
                                        f'"{key}"')
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c["command"]):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not c["description"].strip():
                raise ApiError(400, "Bad Request: command description must be non-empty")
            if len(c["description"]) > 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._command_scope(p)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def _m_getMyCommands(self, p: Json, request: web.Request) -> Any:
        return self.commands.get(self._command_scope(p), [])

    async def _m_deleteMyCommands(self, p: Json, request: web.Request) -> Any:
        self.commands.pop(self._command_scope(p), None)
        return True

    async def _m_sendMessage(self, p: Json, request: web.Request) -> Any:
        chat_id = self._chat(p)
        text, mode, entities = self._formatted(p, "text", MAX_TEXT, caption=False)
        markup = _check_reply_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat_id, p)
        self._check_blocked(chat_id)
        self._rate_check(chat_id)
        m = self._store(chat_id, from_bot=True, kind="text", text=text, raw_text=str(p["text"]),
                        parse_mode=mode, entities=entities, reply_markup=markup, reply_to=reply_to)
        return self._message_obj(m)

    async def _send_file(self, p: Json, kind: str, checked: bool = False) -> Any:
        chat_id = self._chat(p)
        raw = p.get(kind)
        if isinstance(raw, str) and raw.startswith("attach://"):
            raw = p.get(raw.removeprefix("attach://"))
        if isinstance(raw, Upload):
            upload = raw
            f = self.register_file(upload.content, kind=kind, file_name=upload.filename,
                                   mime_type=upload.content_type)
        elif isinstance(raw, str) and raw in self._files:
            f = self._files[raw]
        elif isinstance(raw, str) and urlsplit(raw).scheme in ("http", "https"):
            f = self.register_file(None, kind=kind, file_name=raw.rpartition("/")[2])
        elif raw in (None, ""):
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption, mode, entities = self._formatted(p, "caption", MAX_CAPTION, caption=True)
        markup = _check_reply_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat_id, p)
        if not checked:  # an album item: the album was checked and counted once
            self._check_blocked(chat_id)
            self._rate_check(chat_id)
        ids = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": f.size}
        media = ({"photo": [{**ids, "width": 1280, "height": 960}]} if kind == "photo" else
                 {"document": {**ids, "file_name": f.file_name or "file",
                               "mime_type": f.mime_type or "application/octet-stream"}})
        m = self._store(chat_id, from_bot=True, kind=kind, text=caption,
                        raw_text=p.get("caption"), parse_mode=mode, entities=entities,
                        reply_markup=markup, file_id=f.file_id, media=media, reply_to=reply_to)
        return self._message_obj(m)

    async def _m_sendMediaGroup(self, p: Json, request: web.Request) -> Any:
        """An album: 2-10 InputMedia items, photos/videos mixed or documents alone; each item
        is a file id, a URL or attach://<part>. Stored as one message per item, as Telegram does."""
        items = _json_param(p.get("media"), "Bad Request: can't parse media JSON object")
        if not isinstance(items, list) or not 2 <= len(items) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media items: must be 2-10")
        kinds = set()
        for item in items:
            if not isinstance(item, dict) or item.get("type") not in (
                "photo", "video", "document", "audio"
            ):
                raise ApiError(400, "Bad Request: wrong media type")
            kinds.add(item["type"])
        if ("document" in kinds or "audio" in kinds) and len(kinds) > 1:
            raise ApiError(400, "Bad Request: documents can't be mixed with other media types")
        chat_id = self._chat(p)
        self._check_blocked(chat_id)
        self._rate_check(chat_id)
        sent = []
        for item in items:
            kind = "photo" if item["type"] == "photo" else "document"
            sent.append(await self._send_file({"chat_id": chat_id, kind: item.get("media"),
                                                **{k: v for k, v in p.items() if k not in (
                                                    "media", "chat_id")},
                                                "caption": item.get("caption")}, kind,
                                               checked=True))
        return sent

    async def _m_sendPhoto(self, p: Json, request: web.Request) -> Any:
        return await self._send_file(p, "photo")

    async def _m_sendDocument(self, p: Json, request: web.Request) -> Any:
        return await self._send_file(p, "document")

    def _editable(self, p: Json) -> StoredMessage:
        if p.get("inline_message_id"):
            raise ApiError(400, "Bad Request: message to edit not found")
        chat_id = self._chat(p)
        m = self._messages.get((chat_id, _int_param(p, "message_id")))
        if m is None or m.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not m.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return m

    def _apply_edit(self, m: StoredMessage, text: str | None, raw: str | None, mode: str | None,
                    entities: list[Json], markup: Json | None) -> Any:
        if (text, entities, markup) == (m.text, m.entities, m.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        if (text, entities) != (m.text, m.entities):
            m.history.append(m.text)
        m.text, m.raw_text, m.parse_mode, m.entities, m.reply_markup = (
            text, raw, mode, entities, markup)
        m.edited, m.edit_date = True, int(time.time())
        self._sent_event = self._wake(self._sent_event)
        return self._message_obj(m)

    async def _m_editMessageText(self, p: Json, request: web.Request) -> Any:
        m = self._editable(p)
        text, mode, entities = self._formatted(p, "text", MAX_TEXT, caption=False)
        markup = _check_reply_markup(p.get("reply_markup"), inline_only=True)
        if m.kind != "text":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        return self._apply_edit(m, text, str(p["text"]), mode, entities, markup)

    async def _m_editMessageCaption(self, p: Json, request: web.Request) -> Any:
        m = self._editable(p)
        caption, mode, entities = self._formatted(p, "caption", MAX_CAPTION, caption=True)
        markup = _check_reply_markup(p.get("reply_markup"), inline_only=True)
        if m.kind == "text":
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        return self._apply_edit(m, caption, p.get("caption"), mode, entities, markup)

    async def _m_editMessageReplyMarkup(self, p: Json, request: web.Request) -> Any:
        m = self._editable(p)
        markup = _check_reply_markup(p.get("reply_markup"), inline_only=True)
        return self._apply_edit(m, m.text, m.raw_text, m.parse_mode, m.entities, markup)

    async def _m_answerCallbackQuery(self, p: Json, request: web.Request) -> Any:
        query_id = str(p.get("callback_query_id") or "")
        created = self._callbacks.get(query_id)
        ttl = self.callback_query_ttl
        if created is None or (ttl is not None and time.monotonic() - created > ttl):
            raise ApiError(400, QUERY_TOO_OLD)
        text = str(p.get("text") or "")
        if utf16_len(text) > MAX_CALLBACK_TEXT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        del self._callbacks[query_id]
        self.callback_answers[query_id] = {"text": text or None,
                                           "show_alert": _bool_param(p, "show_alert")}
        return True

    async def _m_getFile(self, p: Json, request: web.Request) -> Any:
        f = self._files.get(str(p.get("file_id") or ""))
        if f is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if f.size > MAX_GETFILE_SIZE:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": f.size,
                "file_path": f.file_path}

    async def _m_deleteMessage(self, p: Json, request: web.Request) -> Any:
        m = self._messages.get((self._chat(p), _int_param(p, "message_id")))
        if m is None or m.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        m.deleted = True
        return True

    async def _m_sendChatAction(self, p: Json, request: web.Request) -> Any:
        chat_id = self._chat(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self._check_blocked(chat_id)
        return True

    async def _m_setMyDescription(self, p: Json, request: web.Request) -> Any:
        if len(str(p.get("description") or "")) > 512:
            raise ApiError(400, "Bad Request: bot description is too long")
        return True

    async def _m_setMyShortDescription(self, p: Json, request: web.Request) -> Any:
        if len(str(p.get("short_description") or "")) > 120:
            raise ApiError(400, "Bad Request: bot short description is too long")
        return True

    async def _m_setMyName(self, p: Json, request: web.Request) -> Any:
        if len(str(p.get("name") or "")) > 64:
            raise ApiError(400, "Bad Request: bot name is too long")
        return True

    async def _m_setChatMenuButton(self, p: Json, request: web.Request) -> Any:
        if p.get("chat_id") not in (None, ""):
            self._chat(p)
        return True
