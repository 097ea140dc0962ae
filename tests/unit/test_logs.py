"""QABOT_LOG_FORMAT=json: one JSON object per log line, naming the instance."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from bot import logs


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
        logs.configure()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["投递失败 QP-2026-0007", "turn failed"]
    assert {line["instance"] for line in lines} == {"web-2"}
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "qabot.test"
    assert "ValueError: boom" in lines[1]["exception"]


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
