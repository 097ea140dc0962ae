"""Argument types shared by the `qabot` subcommands."""

from __future__ import annotations

import argparse


def row_id(text: str) -> int:
    """An id as typed on the command line: digits that fit a database id (BIGINT)."""
    if not (text.isascii() and text.isdecimal()) or not 0 < int(text) < 2**63:
        raise argparse.ArgumentTypeError(
            f"invalid int value: {text[:40]!r} (an id is 1 to 2**63-1)"
        )
    return int(text)
