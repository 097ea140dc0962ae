"""The command line for the registers: industry on enterprises, instrument rows in an import."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.e2e.test_cli import env, json_out, run  # noqa: F401 (fixture)


def database(env: dict[str, str]) -> sqlite3.Connection:  # noqa: F811
    return sqlite3.connect(env["DATABASE_URL"].split("///", 1)[1])


def test_enterprise_with_an_industry_code(env: dict[str, str]) -> None:  # noqa: F811
    officer = json_out(run(["officer", "add", "--name", "王丽", "--city", "杭州市", "--json"], env))
    add = ["enterprise", "add", "--name", "温州阀门", "--city", "杭州市"]
    add += ["--officer", str(officer["id"]), "--json"]
    bad = run([*add, "--industry-code", "Z99"], env)
    assert bad.returncode == 2 and "GB/T 4754" in bad.stderr and "Traceback" not in bad.stderr
    firm = json_out(
        run([*add, "--industry-code", "c3443", "--industry-name", "阀门和旋塞制造"], env)
    )
    with database(env) as connection:
        row = connection.execute(
            "SELECT industry_code, industry_name FROM enterprises WHERE id = ?", (firm["id"],)
        ).fetchone()
    assert row == ("C3443", "阀门和旋塞制造")


def test_import_of_an_instrument_register(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    sheet = tmp_path / "register.csv"
    sheet.write_text(
        "类型,引用,名称,城市,责任人,企业,型号,出厂编号,检定日期,检定周期,有效期至,行业代码\n"
        "officer,wl,王丽,杭州市,,,,,,,,\n"
        "enterprise,valve,温州阀门,杭州市,wl,,,,,,,C3443\n"
        "instrument,,压力表,,,valve,Y-100,A1,2026-03-31,1个月,,\n"
        "instrument,,天平,,,valve,,B2,,,2027-01-31,\n"
        "certificate,,ISO 9001,,,valve,,,,,2027-05-01,\n",
        encoding="utf-8",
    )
    result = json_out(run(["import", str(sheet), "--json"], env))
    assert result["registers"] == 3
    with database(env) as connection:
        rows = connection.execute(
            "SELECT name, serial_number, valid_until FROM instruments ORDER BY id"
        ).fetchall()
    assert rows == [("压力表", "A1", "2026-04-30"), ("天平", "B2", "2027-01-31")]
    broken = sheet.read_text(encoding="utf-8").replace("2027-01-31", "soon")
    sheet.write_text(broken, encoding="utf-8")
    failed = run(["import", str(sheet), "--json"], env)
    assert failed.returncode == 2 and "row 5" in failed.stderr
    assert "error" in json.loads(failed.stdout)
