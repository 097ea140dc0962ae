"""WeCom receiving: a decrypted callback as what the core needs."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import unquote

import httpx

from bot.wecom.crypto import (
    MalformedMessage,
)
from handlers.core import MAX_FILE_BYTES
from handlers.messages import IncomingFile

log = logging.getLogger(__name__)

CHANNEL = "wecom"
KEY_MAX = 150


class StaleTimestamp(Exception):
    """The callback's timestamp is more than MAX_TIMESTAMP_SKEW from our clock (a replay?)."""


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
