"""Report references: QP-<year>-<number>."""

from __future__ import annotations


def format_reference(year: int, number: int) -> str:
    return f"QP-{year}-{number:04d}"
