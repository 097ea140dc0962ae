"""`qabot agreement set|show`, the import's agreement columns, and the month-before notice
through `qabot remind --now`, as an operator runs them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_cli import env, json_out, run  # noqa: F401 (fixture)


def _db(env: dict[str, str]) -> str:  # noqa: F811
    return env["DATABASE_URL"].split("///", 1)[1]


def _enterprise(env: dict[str, str]) -> tuple[int, int]:  # noqa: F811
    officer = json_out(run(["officer", "add", "--name", "王丽", "--city", "杭州市", "--json"], env))
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
                "--json",
            ],
            env,
        )
    )
    return officer["id"], firm["id"]


def test_set_and_show_with_json_and_the_audit_trail(env: dict[str, str]) -> None:  # noqa: F811
    officer_id, firm_id = _enterprise(env)
    run(
        [
            "commitment",
            "add",
            "--enterprise",
            str(firm_id),
            "--party",
            "bureau",
            "--text",
            "上门校准",
            "--due",
            "2026-12-31",
        ],
        env,
    )
    shown = json_out(
        run(
            [
                "agreement",
                "set",
                "--enterprise",
                str(firm_id),
                "--start",
                "2026-01-01",
                "--end",
                "2026-12-31",
                "--bureau-signatory",
                "王丽",
                "--enterprise-signatory",
                "张总 <b>\x07",
                "--json",
            ],
            env,
        )
    )
    assert shown["start"] == "2026-01-01" and shown["end"] == "2026-12-31"
    assert shown["bureau_signatory"] == "王丽"
    # A control character is dropped; markup is kept as text (escaped where shown).
    assert shown["enterprise_signatory"] == "张总 <b>"
    assert shown["open_commitments"] == {"bureau": 1, "enterprise": 0}
    again = json_out(run(["agreement", "show", "--enterprise", str(firm_id), "--json"], env))
    assert again == shown
    text = run(["agreement", "show", "--enterprise", str(firm_id)], env)
    assert text.returncode == 0 and "2026-01-01 – 2026-12-31" in text.stdout
    # The bureau's signing person may be given as a person id.
    by_id = json_out(
        run(
            [
                "agreement",
                "set",
                "--enterprise",
                str(firm_id),
                "--start",
                "2026-01-01",
                "--end",
                "2027-01-31",
                "--bureau-signatory-id",
                str(officer_id),
                "--json",
            ],
            env,
        )
    )
    assert by_id["bureau_signatory"] == "王丽" and by_id["bureau_signatory_id"] == officer_id
    with sqlite3.connect(_db(env)) as db:
        audited = db.execute(
            "SELECT action, subject_type FROM audit_trail WHERE action = 'agreement.set'"
        ).fetchall()
    assert audited == [("agreement.set", "agreement")] * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-12-31", "--end", "2026-01-01"], "早于开始日期"),
        (["--start", "1999-12-31", "--end", "2026-01-01"], "1999-12-31"),
        (["--start", "2026-01-01", "--end", "2101-01-01"], "2000 年至 2100 年"),
        (["--start", "2026-02-30", "--end", "2026-12-01"], "日期无效"),
        (["--start", "2026-01-01", "--end", "2026-12-01", "--enterprise", "999"], "没有编号为 999"),
        (["--start", "2026-01-01", "--end", "2026-12-01", "--bureau-signatory-id", "999"], "999"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    env: dict[str, str],  # noqa: F811
    args: list[str],
    message: str,
) -> None:
    _, firm_id = _enterprise(env)
    command = ["agreement", "set", "--enterprise", str(firm_id), *args]
    result = run(command, env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    as_json = run([*command, "--json"], env)
    assert as_json.returncode == 2 and message in json_out_error(as_json)
    shown = json_out(run(["agreement", "show", "--enterprise", str(firm_id), "--json"], env))
    assert shown["end"] is None


def json_out_error(result: object) -> str:
    stdout = result.stdout  # type: ignore[attr-defined]
    return str(json.loads(stdout)["error"])


def test_show_an_unknown_enterprise(env: dict[str, str]) -> None:  # noqa: F811
    result = run(["agreement", "show", "--enterprise", "42"], env)
    assert result.returncode == 2 and "没有编号为 42 的企业" in result.stderr


IMPORT_CSV = """type,ref,name,city,officer,agreement_start,agreement_end,局方签署人,企业签署人
officer,wang,王丽,杭州市,,,,,
enterprise,jg,杭州精工,杭州市,wang,2026-01-01,2026-12-30,王丽,张总
enterprise,hy,杭州华宇,杭州市,wang,,,,
"""


def test_import_sets_the_period_and_signatories(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    source = tmp_path / "import.csv"
    source.write_text(IMPORT_CSV, encoding="utf-8")
    result = json_out(run(["import", str(source), "--json"], env))
    firm_id, other_id = (e["id"] for e in result["enterprises"])
    firm = json_out(run(["agreement", "show", "--enterprise", str(firm_id), "--json"], env))
    assert (firm["start"], firm["end"]) == ("2026-01-01", "2026-12-30")
    assert (firm["bureau_signatory"], firm["enterprise_signatory"]) == ("王丽", "张总")
    other = json_out(run(["agreement", "show", "--enterprise", str(other_id), "--json"], env))
    assert other["agreement"] is None


def test_import_of_xlsx_dates(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    from datetime import datetime

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["类型", "引用", "名称", "城市", "责任人", "协议开始", "协议结束"])
    sheet.append(["officer", "o", "王丽", "杭州市", None, None, None])
    sheet.append(
        ["enterprise", "e", "精工", "杭州市", "o", datetime(2026, 3, 1), datetime(2027, 2, 28)]
    )
    source = tmp_path / "import.xlsx"
    book.save(source)
    firm_id = json_out(run(["import", str(source), "--json"], env))["enterprises"][0]["id"]
    firm = json_out(run(["agreement", "show", "--enterprise", str(firm_id), "--json"], env))
    assert (firm["start"], firm["end"]) == ("2026-03-01", "2027-02-28")


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (
            "enterprise,x,某公司,杭州市,wang,2026-01-01,,,",
            "row 5: agreement_start and agreement_end",
        ),
        ("enterprise,x,某公司,杭州市,wang,2026-01-01,2026-13-01,,", "row 5: agreement_end"),
        ("enterprise,x,某公司,杭州市,wang,2026-12-01,2026-01-01,,", "row 5: 协议结束日期"),
    ],
)
def test_a_bad_agreement_column_stops_the_import(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    bad_line: str,
    message: str,
) -> None:
    source = tmp_path / "import.csv"
    source.write_text(IMPORT_CSV + bad_line + "\n", encoding="utf-8")
    result = run(["import", str(source)], env)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "nothing was imported" in result.stderr


def test_the_month_before_notice_goes_out_once(env: dict[str, str]) -> None:  # noqa: F811
    _, firm_id = _enterprise(env)
    # 2026-12-30 is 30 days after Monday 2026-11-30.
    set_period = ["agreement", "set", "--enterprise", str(firm_id)]
    run([*set_period, "--start", "2026-01-01", "--end", "2026-12-30"], env)

    def remind(now: str) -> dict:
        return json_out(run(["remind", "--now", now, "--json"], env))

    assert remind("2026-11-27T09:00+08:00")["agreement_notices"] == 0  # 33 days before
    assert remind("2026-11-30T09:00+08:00")["agreement_notices"] == 1  # the officer
    assert remind("2026-11-30T15:00+08:00")["agreement_notices"] == 0
    assert remind("2026-12-01T09:00+08:00")["agreement_notices"] == 0
    with sqlite3.connect(_db(env)) as db:
        (stored,) = db.execute(
            "SELECT message FROM outbox WHERE kind = 'agreement_expiry_notice'"
        ).fetchall()
    notice = json.loads(stored[0])
    assert "杭州精工：2026-01-01 至 2026-12-30，还有 30 天" in notice["text"]
    assert notice["buttons"][0][0]["payload"] == f"cm:agr:{firm_id}"
    # A moved end date arms the notice again.
    run([*set_period, "--start", "2026-01-01", "--end", "2027-01-04"], env)
    assert remind("2026-12-04T09:00+08:00")["agreement_notices"] == 0  # 31 days before
    assert remind("2026-12-07T09:00+08:00")["agreement_notices"] == 1  # Monday, 28 days
