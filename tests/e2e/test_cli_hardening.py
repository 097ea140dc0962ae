"""Issue 12 on the command line: the way back for people, and one-line errors for typos."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from domain.clock import FixedClock
from storage.models import AuditEntry
from tests.conftest import make_core
from tests.e2e.test_cli import env, json_out, run  # noqa: F401 (fixture)
from tests.support import Chat

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def chat_says(url: str, tmp_path: Path, user: str, text: str) -> str:
    """Send one message through the core on the CLI's database; return the first reply."""

    async def go() -> str:
        core = make_core(url, FixedClock(datetime.now(UTC)), tmp_path / "files")
        try:
            return (await Chat(core, user).send(text))[0].text
        finally:
            await core.sessions.kw["bind"].dispose()

    return asyncio.run(go())


def audit_actions(url: str, tmp_path: Path) -> list[str]:
    async def go() -> list[str]:
        core = make_core(url, FixedClock(datetime.now(UTC)), tmp_path / "files")
        try:
            async with core.sessions() as session:
                return list((await session.scalars(select(AuditEntry.action))).all())
        finally:
            await core.sessions.kw["bind"].dispose()

    return asyncio.run(go())


def officer_and_enterprise(env: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:  # noqa: F811
    """An officer and an enterprise assigned to them, through the command line."""
    officer = json_out(run(["officer", "add", "--name", "王丽", "--city", "杭州市", "--json"], env))
    firm = json_out(
        run(
            ["enterprise", "add", "--name", "精工", "--city", "杭州市"]
            + ["--officer", str(officer["id"]), "--json"],
            env,
        )
    )
    return officer, firm


def test_codes_accounts_and_staff_can_be_managed(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    url = env["DATABASE_URL"]
    officer, firm = officer_and_enterprise(env)
    assert "绑定成功" in chat_says(url, tmp_path, "zhang", f"/start {firm['code']}")

    staff = json_out(run(["staff", "list", "--enterprise", str(firm["id"]), "--json"], env))
    [member] = staff["staff"]
    assert member["channels"] == ["test"]

    # A leaked enterprise code: reissued, the old one stops working, the new one works.
    fresh = json_out(run(["code", "reissue", "--enterprise", str(firm["id"]), "--json"], env))
    assert "过期" in chat_says(url, tmp_path, "li", f"/start {firm['code']}")
    assert "绑定成功" in chat_says(url, tmp_path, "li", f"/start {fresh['code']}")
    assert json_out(run(["code", "revoke", fresh["code"], "--json"], env))["revoked"] is True
    assert "过期" in chat_says(url, tmp_path, "wang", f"/start {fresh['code']}")

    # A lost phone: unbound, the chat must bind again.
    unbound = json_out(run(["person", "unbind", str(member["id"]), "--json"], env))
    assert unbound["unbound"] == 1
    assert "请先绑定" in chat_says(url, tmp_path, "zhang", "/report")

    # Someone who left: no longer on the staff list.
    assert json_out(run(["staff", "remove", str(member["id"]), "--json"], env))["removed"]
    names = json_out(run(["staff", "list", "--enterprise", str(firm["id"]), "--json"], env))
    assert member["id"] not in [s["id"] for s in names["staff"]]

    # An officer whose code is gone gets a new one.
    again = json_out(run(["code", "reissue", "--person", str(officer["id"]), "--json"], env))
    assert "过期" in chat_says(url, tmp_path, "wl", f"/start {officer['code']}")
    assert "绑定成功" in chat_says(url, tmp_path, "wl", f"/start {again['code']}")

    actions = audit_actions(url, tmp_path)
    for action in ("code.reissue", "code.revoke", "binding.unbind", "staff.remove"):
        assert action in actions, action


def one_line_error(result: Any) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qabot: error: "), result.stderr
    return lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        yield taken.getsockname()[1]


def test_typos_and_broken_setups_end_in_one_line(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    busy_port: int,
) -> None:
    officer, firm = officer_and_enterprise(env)
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a database file at all" * 100)
    long_field = tmp_path / "long.csv"
    long_field.write_text("type,name,city\nofficer," + "x" * 200_000 + ",杭州市\n")
    wecom = {
        "WECOM_CORP_ID": "ww1",
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": "s" * 40,
        "WECOM_TOKEN": "t" * 20,
        "WECOM_AES_KEY": AES_KEY,
        "WECOM_API_BASE_URL": "http://127.0.0.1:9",
    }
    cases: list[tuple[list[str], dict[str, str], str]] = [
        (
            ["db", "upgrade"],
            {"DATABASE_URL": "postgresql+asyncpg://u:pw@127.0.0.1:9/x"},
            "database",
        ),
        (["db", "upgrade"], {"DATABASE_URL": f"sqlite+aiosqlite:///{corrupt}"}, "not a database"),
        (
            ["enterprise", "add", "--name", "x", "--city", "杭州市", "--officer", "9" * 20],
            {},
            "invalid int value",
        ),
        (["officer", "add", "--name", "x", "--city", "市" * 60], {}, "50"),
        (["import", str(long_field)], {}, "field larger than field limit"),
        (["db", "upgrade"], {"WECOM_AES_KEY": "not-a-key"}, "WECOM_AES_KEY"),
        (["db", "upgrade"], {"QABOT_LISTEN": "abc"}, "QABOT_LISTEN"),
        (["db", "upgrade"], {"QABOT_FIRST_RESPONSE_DAYS": "-5"}, "QABOT_FIRST_RESPONSE_DAYS"),
        (["run"], {**wecom, "QABOT_LISTEN": f"127.0.0.1:{busy_port}"}, "QABOT_LISTEN"),
        (
            ["commitment", "add", "--enterprise", str(firm["id"]), "--party", "bureau"]
            + ["--text", "校准", "--due", "0206-12-01"],
            {},
            "0206-12-01",
        ),
    ]
    for args, overrides, expected in cases:
        line = one_line_error(run(args, {**env, **overrides}, timeout=60))
        assert expected in line, (args, line)
        assert "pw" not in line  # the database password is never shown
    with_json = run(
        ["officer", "add", "--name", "x", "--city", "市" * 60, "--json"], env, timeout=60
    )
    one_line_error(with_json)
    assert set(json.loads(with_json.stdout)) == {"error"}


class _NotFound(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        body = b'{"ok": false, "error_code": 404, "description": "Not Found"}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_mistyped_api_url_does_not_print_the_token(
    env: dict[str, str],  # noqa: F811
    busy_port: int,
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with socket.create_server(("127.0.0.1", 0)) as free:
            port = free.getsockname()[1]
        result = run(
            ["run"],
            {
                **env,
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{server.server_port}/botx",
                "QABOT_LISTEN": f"127.0.0.1:{port}",
            },
            timeout=60,
        )
    finally:
        server.shutdown()
    line = one_line_error(result)
    assert "telegram" in line
    secret_part = TOKEN.split(":")[1]
    assert secret_part not in result.stderr + result.stdout


def test_control_characters_typed_or_imported_are_not_stored(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    officer = json_out(
        run(["officer", "add", "--name", "王\x1b[31m丽\x01", "--city", "杭州市", "--json"], env)
    )
    assert officer["name"] == "王[31m丽"
    table = tmp_path / "people.csv"
    table.write_text("type,ref,name,city\nofficer,a,李\x00强\x07,宁波市\n", encoding="utf-8")
    imported = json_out(run(["import", str(table), "--json"], env))
    assert imported["officers"][0]["name"] == "李强"
