"""Errors of setup and input that end a `qabot` command with one line, never a traceback."""

from __future__ import annotations


class SetupError(Exception):
    """The operator's configuration or environment is wrong (a port in use, a database
    that cannot be reached): one line on stderr, exit status 2."""
