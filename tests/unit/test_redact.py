"""Issue 12 item 7: no token or secret in a log line, a traceback or an error."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from bot.redact import RedactingFilter, Redactor

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WEBHOOK_SECRET = "9f2c" * 16


def test_tokens_and_secrets_are_masked_in_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor([WEBHOOK_SECRET, "short"])))
    log = logging.getLogger("test.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
        log.warning("GET /cgi-bin/gettoken?corpid=ww1&corpsecret=Abc123xyz and access_token=XYZ987")
        try:
            raise ValueError(f"The token `{TOKEN}` was rejected; secret {WEBHOOK_SECRET}")
        except ValueError:
            log.exception("start failed")
    finally:
        log.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN.split(":")[1] not in output
    assert WEBHOOK_SECRET not in output
    assert "Abc123xyz" not in output and "XYZ987" not in output
    assert "corpid=ww1" in output  # what is not secret stays readable
    assert "Traceback" in output and "ValueError" in output


def test_httpx_is_kept_at_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.redact import install

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test

    root = logging.getLogger()
    before = list(root.handlers)
    try:
        install([])
        assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    finally:
        for handler in root.handlers:
            handler.filters = [f for f in handler.filters if not isinstance(f, RedactingFilter)]
        assert root.handlers == before
