"""The `qabot` command line as scripts and operators use it (SPEC §5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import sqlite_copy

QABOT = [sys.executable, "-m", "bot"]


def run(
    args: list[str], env: dict[str, str], stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    with subprocess.Popen(
        QABOT + args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        try:
            stdout, stderr = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # faulthandler: where is it stuck?
            time.sleep(1)
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(f"qabot {args} hung.\nstdout:\n{stdout}\nstacks:\n{stderr}")
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture
def env(migrated_sqlite: Path, tmp_path: Path) -> dict[str, str]:
    values = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECOM_", "QABOT_"))
    }
    values.update(
        DATABASE_URL=sqlite_copy(migrated_sqlite, tmp_path),
        QABOT_DATA_DIR=str(tmp_path / "data"),
        PYTHONUNBUFFERED="1",
    )
    return values


def json_out(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_db_upgrade_on_an_empty_database(tmp_path: Path, env: dict[str, str]) -> None:
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/fresh/new.sqlite3"
    result = run(["db", "upgrade"], env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh" / "new.sqlite3").exists()


def test_master_data_with_json(env: dict[str, str]) -> None:
    officer = json_out(run(["officer", "add", "--name", "王丽", "--city", "杭州市", "--json"], env))
    assert set(officer) >= {"id", "code"} and len(officer["code"]) == 8
    province = json_out(
        run(["officer", "add", "--name", "赵", "--province", "--role", "supervisor", "--json"], env)
    )
    assert province["bureau"] == "省局"
    firm = json_out(
        run(
            [
                "enterprise",
                "add",
                "--name",
                "杭州精工",
                "--city",
                "杭州市",
                "--officer",
                str(officer["id"]),
                "--credit-code",
                "91440300708461136T",
                "--json",
            ],
            env,
        )
    )
    assert set(firm) >= {"id", "code"}
    commitment = json_out(
        run(
            [
                "commitment",
                "add",
                "--enterprise",
                str(firm["id"]),
                "--party",
                "bureau",
                "--text",
                "上门校准",
                "--due",
                "2026-12-31",
                "--json",
            ],
            env,
        )
    )
    assert commitment["id"] >= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["officer", "add", "--name", "", "--city", "杭州市"], "姓名不能为空"),
        (["officer", "add", "--name", "x"], "one of the arguments --city --province is required"),
        (
            ["enterprise", "add", "--name", "x", "--city", "杭州市", "--officer", "999"],
            "没有编号为 999",
        ),
        (
            ["enterprise", "add", "--name", "x", "--city", "杭州市", "--officer", "abc"],
            "invalid int value",
        ),
        (
            [
                "commitment",
                "add",
                "--enterprise",
                "1",
                "--party",
                "bureau",
                "--text",
                "t",
                "--due",
                "2026-02-30",
            ],
            "日期无效",
        ),
        (
            [
                "commitment",
                "add",
                "--enterprise",
                "1",
                "--party",
                "both",
                "--text",
                "t",
                "--due",
                "2026-02-01",
            ],
            "invalid choice",
        ),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = run(args, env)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_credit_code_changes_nothing(env: dict[str, str]) -> None:
    officer = json_out(run(["officer", "add", "--name", "王丽", "--city", "杭州市", "--json"], env))
    bad = run(
        [
            "enterprise",
            "add",
            "--name",
            "x",
            "--city",
            "杭州市",
            "--officer",
            str(officer["id"]),
            "--credit-code",
            "91440300708461136X",
            "--json",
        ],
        env,
    )
    assert bad.returncode != 0 and "统一社会信用代码" in bad.stderr
    assert json.loads(bad.stdout) == {"error": bad.stderr.strip().removeprefix("qabot: error: ")}
    good = json_out(
        run(
            [
                "enterprise",
                "add",
                "--name",
                "x",
                "--city",
                "杭州市",
                "--officer",
                str(officer["id"]),
                "--json",
            ],
            env,
        )
    )
    assert good["id"] == 1


def test_officer_of_another_city_cannot_be_assigned(env: dict[str, str]) -> None:
    officer = json_out(run(["officer", "add", "--name", "李强", "--city", "宁波市", "--json"], env))
    result = run(
        ["enterprise", "add", "--name", "x", "--city", "杭州市", "--officer", str(officer["id"])],
        env,
    )
    assert result.returncode != 0 and "不属于杭州市" in result.stderr


def test_full_report_conversation_in_the_console(env: dict[str, str], tmp_path: Path) -> None:
    codes = json_out(run(["demo", "--json"], env))["codes"]
    staff_code = next(c["code"] for c in codes if "精工" in c["who"])
    officer_code = next(c["code"] for c in codes if c["who"].startswith("王丽"))
    photo = tmp_path / "defect.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 fake jpeg")
    lines = [
        "/report",
        "1",  # 标准
        "2",  # 计量
        "9",  # 完成
        "M8 螺栓 <b>&_*[]()!.",
        "尺寸超差，合格率下降",
        f"/file {photo}",
        "1",  # 完成
        "2",  # 紧急
        "1",  # 提交
        "/myreports",
        f"/start {officer_code}",
        "/inbox",
    ]
    result = run(["console", "--code", staff_code], env, stdin="\n".join(lines) + "\n")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "☑ 标准" in out and "☑ 计量" in out
    assert "已收到附件（共1个）" in out
    assert "报告已提交，编号 QP-2026-0001" in out
    assert "M8 螺栓 <b>&_*[]()!." in out
    # Once the officer is at the keyboard, the queued notification is delivered to them.
    assert "🔔 新的问题报告 QP-2026-0001" in out
    assert "沈阳精工机械有限公司 · 已提交" in out


def test_export_workbook(env: dict[str, str], tmp_path: Path) -> None:
    import openpyxl

    json_out(run(["demo", "--json"], env))
    target = tmp_path / "figures.xlsx"
    result = json_out(run(["export", str(target), "--json"], env))
    assert result["file"] == str(target)
    book = openpyxl.load_workbook(target)
    assert book["承诺事项"].max_row == 7  # header + the six demo commitments
    bad = run(["export", str(tmp_path / "figures.csv")], env)
    assert bad.returncode == 2 and ".xlsx" in bad.stderr


IMPORT_CSV = """类型,引用,名称,城市,角色,责任人,信用代码,企业,承诺方,内容,截止日期
officer,wang,王丽,杭州市,,,,,,,
officer,,赵局,省局,supervisor,,,,,,
enterprise,jg,杭州精工,杭州市,,wang,91440300708461136T,,,,
commitment,,,,,,,jg,局方,上门校准量具,2026-12-31
commitment,,,,,,,jg,enterprise,建立追溯台账,2027-01-15
"""


def test_import_csv(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "import.csv"
    source.write_text("\ufeff" + IMPORT_CSV, encoding="utf-8")
    result = json_out(run(["import", str(source), "--json"], env))
    assert [o["name"] for o in result["officers"]] == ["王丽", "赵局"]
    assert (
        result["enterprises"][0]["name"] == "杭州精工"
        and len(result["enterprises"][0]["code"]) == 8
    )
    assert result["commitments"] == 2


def test_import_xlsx_with_excel_dates(env: dict[str, str], tmp_path: Path) -> None:
    from datetime import datetime

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["type", "ref", "name", "city", "officer", "enterprise", "party", "text", "due"])
    sheet.append(["officer", "o", "王丽", "杭州市", None, None, None, None, None])
    sheet.append(["enterprise", "e", "精工", "杭州市", "o", None, None, None, None])
    sheet.append(
        ["commitment", None, None, None, None, "e", "bureau", "校准", datetime(2026, 12, 31)]
    )
    source = tmp_path / "import.xlsx"
    book.save(source)
    assert json_out(run(["import", str(source), "--json"], env))["commitments"] == 1


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("commitment,,,,,,,jg,局方,校准,2026-02-30", "row 5: due '2026-02-30' is not a date"),
        ("commitment,,,,,,,nope,局方,校准,2026-12-31", "row 5: enterprise 'nope'"),
        ("enterprise,x,某公司,杭州市,,wang,123,,,,", "row 5: 统一社会信用代码 123 无效"),
        ("robot,,,,,,,,,,", "row 5: unknown type 'robot'"),
    ],
)
def test_import_stops_at_the_first_bad_row_and_keeps_nothing(
    env: dict[str, str], tmp_path: Path, bad_line: str, message: str
) -> None:
    source = tmp_path / "import.csv"
    good = IMPORT_CSV.splitlines()[:4]
    source.write_text("\n".join([*good, bad_line]) + "\n", encoding="utf-8")
    result = run(["import", str(source)], env)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "nothing was imported" in result.stderr
    # The good rows before it were rolled back too: the next officer gets id 1.
    assert (
        json_out(run(["officer", "add", "--name", "x", "--city", "杭州市", "--json"], env))["id"]
        == 1
    )


def test_import_unreadable_files(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    assert "use a .xlsx or .csv" in run(["import", str(tmp_path / "a.txt")], env).stderr
    (tmp_path / "b.xlsx").write_bytes(b"not a zip")
    assert "not a readable .xlsx" in run(["import", str(tmp_path / "b.xlsx")], env).stderr
    (tmp_path / "c.csv").write_text("name,city\nx,y\n")
    assert "'type' column" in run(["import", str(tmp_path / "c.csv")], env).stderr
