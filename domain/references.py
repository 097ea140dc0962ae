"""Report references: QP-<year>-<number>."""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"^QP-(\d{4})-(\d{4,})$")


def format_reference(year: int, number: int) -> str:
    return f"QP-{year}-{number:04d}"


def parse_reference(text: str) -> tuple[int, int] | None:
    match = _REFERENCE.match(text.strip().upper())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))
