"""Text as it enters qabot (chat, command line, import): one cleaning rule for all of it."""

from __future__ import annotations

import unicodedata

# Line breaks and tabs are part of what people write; every other control character (NUL,
# ESC, \x01…) breaks exports, terminals or PostgreSQL and carries nothing a reader needs.
_KEPT = frozenset("\n\t")


def clean_input(text: str) -> str:
    """Return `text` without control characters (except line breaks and tabs) or lone surrogates."""
    if text.isprintable():
        return text  # the common case, checked in C
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in _KEPT or unicodedata.category(ch) not in ("Cc", "Cs"))


def clip(text: str, limit: int) -> str:
    """Shorten a display name to `limit` characters, marking the cut with "…"."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
