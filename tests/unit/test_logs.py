"""QABOT_LOG_FORMAT=json: one JSON object per log line, naming the instance."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bot import logs
from bot.redact import install as install_redaction


@pytest.fixture(autouse=True)
def root_handlers_restored() -> Iterator[None]:
    """The handlers these tests install write to the captured stderr: put the old ones back."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    root.handlers[:] = saved
    root.setLevel(level)


def test_json_lines_carry_the_instance_and_the_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure("json", "web-2")
    try:
        logger = logging.getLogger("qabot.test")
        logger.warning("投递失败 %s", "QP-2026-0007")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("turn failed")
    finally:
        sys.stderr.flush()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["投递失败 QP-2026-0007", "turn failed"]
    assert {line["instance"] for line in lines} == {"web-2"}
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "qabot.test"
    assert "ValueError: boom" in lines[1]["exception"]


def test_json_lines_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("json", "web-1")
    install_redaction(["123456:SECRET-token"])
    try:
        logger = logging.getLogger("qabot.test")
        try:
            raise RuntimeError("rejected 123456:SECRET-token")
        except RuntimeError:
            logger.exception("start failed with 123456:SECRET-token")
    finally:
        install_redaction([])
    err = capsys.readouterr().err
    assert "SECRET" not in err
    (line,) = [json.loads(text) for text in err.splitlines()]
    assert "RuntimeError" in line["exception"] and line["instance"] == "web-1"


def test_an_unknown_log_format_is_a_one_line_error(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main(['db', 'upgrade'])"],
        env={"QABOT_LOG_FORMAT": "xml", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
    )
    assert result.returncode == 2
    assert result.stderr.startswith("qabot: error: setting QABOT_LOG_FORMAT")
    assert len(result.stderr.strip().splitlines()) == 1
