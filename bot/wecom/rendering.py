"""WeCom rendering: a neutral Reply as text messages and template cards."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from handlers.messages import Button, Reply

TEXT_MAX_BYTES = 2048
CARD_TEXT_CHARS = 120
MAX_CARD_BUTTONS = 6
MAX_VOTE_OPTIONS = 20
# WeCom text messages render <a href> links; a user's own "<a" must not become one.
_ANCHOR = re.compile(r"<(\s*/?\s*a\b)", re.IGNORECASE)

JSON = dict[str, Any]


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
