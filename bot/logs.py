"""Log lines: plain text for a terminal, or one JSON object per line for a log collector."""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


def default_instance_name() -> str:
    """host:pid — tells apart the instances of one deployment in a shared log."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, instance, and the traceback."""

    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "instance": self.instance,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            # Already formatted (and redacted) by bot.redact's filter.
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def configure(log_format: str = "text", instance: str | None = None) -> None:
    """(Re)install the root handler on stderr in the chosen format, replacing any earlier one."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter(instance or default_instance_name()))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
