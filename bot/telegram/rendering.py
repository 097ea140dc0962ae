"""Telegram rendering: a neutral Reply as HTML messages with inline keyboards."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from handlers.messages import Button, Reply

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # UTF-16 code units of the text as shown (after HTML parsing)
MAX_CALLBACK_DATA = 64


@dataclass(frozen=True)
class Part:
    """One Telegram message: HTML text and an optional inline keyboard (Bot API JSON)."""

    html: str
    keyboard: dict[str, Any] | None


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, first_limit: int, limit: int) -> list[str]:
    """Cut text into pieces of at most `limit` UTF-16 units (`first_limit` for the first),
    at line ends where possible; a line longer than a piece is cut inside."""
    pieces: list[str] = []
    current = ""
    budget = first_limit
    for line in _lines_within(text, min(first_limit, limit)):
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) <= budget:
            current = candidate
            continue
        pieces.append(current)
        budget = limit
        current = line
    pieces.append(current)
    return pieces


def _lines_within(text: str, limit: int) -> Iterator[str]:
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            cut, used = 0, 0
            for index, char in enumerate(line):
                used += utf16_len(char)
                if used > limit:
                    break
                cut = index + 1
            yield line[:cut]
            line = line[cut:]
        yield line


def render(reply: Reply) -> list[Part]:
    """The messages for one reply: escaped HTML, title in bold, the keyboard on the last one."""
    text = reply.text
    title = reply.title.strip() if reply.title else ""
    # Leave room for the title line and a "(2/3)" note on every piece.
    note_room = 12
    first = MAX_TEXT - note_room - (utf16_len(title) + 1 if title else 0)
    pieces = split_text(text, first, MAX_TEXT - note_room) if text else [""]
    parts: list[Part] = []
    for number, piece in enumerate(pieces, 1):
        chunks = []
        if number == 1 and title:
            chunks.append(f"<b>{html.escape(title)}</b>")
        if piece.strip():
            chunks.append(html.escape(piece))
        if len(pieces) > 1:
            chunks.append(f"({number}/{len(pieces)})")
        body = "\n".join(chunks) or "…"
        last = number == len(pieces)
        parts.append(Part(body, keyboard(reply) if last else None))
    return parts


def keyboard(reply: Reply) -> dict[str, Any] | None:
    """Inline keyboard: checklist options two a row with ☑/☐, its Done, then the buttons."""
    rows: list[list[Button]] = []
    if reply.checklist is not None:
        marks = [
            Button(
                ("☑ " if option.selected else "☐ ") + option.label,
                reply.checklist.toggle_prefix + option.value,
            )
            for option in reply.checklist.options
        ]
        rows.extend(marks[i : i + 2] for i in range(0, len(marks), 2))
        rows.append([reply.checklist.done])
    rows.extend(reply.buttons)
    markup = [[_inline_button(b) for b in row if _payload_fits(b)] for row in rows]
    markup = [row for row in markup if row]
    return {"inline_keyboard": markup} if markup else None


def _payload_fits(button: Button) -> bool:
    size = len(button.payload.encode())
    if 1 <= size <= MAX_CALLBACK_DATA and button.label.strip():
        return True
    # Our bug, not the user's: dropped so the rest of the message still reaches them.
    log.error("button dropped: payload %r is %d bytes (Telegram allows 1..64)", button, size)
    return False


def _inline_button(button: Button) -> dict[str, str]:
    return {"text": button.label, "callback_data": button.payload}
