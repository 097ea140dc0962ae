"""Secrets never reach a log line, an error message or a traceback on stderr.

Two nets: the configured secret values themselves (and the webhook secret derived from the
token), and the shapes secrets have in URLs and messages (a Telegram bot token, `access_token=`,
`corpsecret=` …) for the ones we were not told about.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType

MASK = "***"
_SHAPES = (
    # A Telegram bot token: "<bot id>:<35 characters>", also inside ".../bot<token>/getMe".
    re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}"),
    # Query strings and key=value pairs that carry credentials.
    re.compile(r"(?i)\b(access_token|corpsecret|secret|token|secret_token|password)=[^&\s'\"]+"),
)


class Redactor:
    """Replaces known secret values and secret-shaped text with ***."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Short values (an agent id, "1") would mask ordinary text; secrets are long.
        self.values = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, MASK)
        text = _SHAPES[0].sub(MASK, text)
        return _SHAPES[1].sub(lambda m: f"{m.group(1)}={MASK}", text)


class RedactingFilter(logging.Filter):
    """A handler filter: the record's message and traceback are redacted before formatting."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = self.redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
            record.exc_text = record.exc_text.rstrip("\n")
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install(secrets: Iterable[str | None]) -> Redactor:
    """Redact every handler of the root logger and uncaught tracebacks; quiet httpx."""
    redactor = Redactor(secrets)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(RedactingFilter(redactor))
    # At INFO httpx logs every request URL, query string (corpsecret=…) included.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)

    def excepthook(
        kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        sys.stderr.write(redactor("".join(traceback.format_exception(kind, error, tb))))

    sys.excepthook = excepthook
    return redactor
