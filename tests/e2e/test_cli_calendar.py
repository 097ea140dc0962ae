"""`qabot calendar …`: the bureau's calendar decides what `qabot remind` treats as a working day."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from tests.e2e.test_cli import env, json_out, run

__all__ = ["env"]


def remind_is_working(day: str, env: dict[str, str]) -> bool:
    result = json_out(run(["remind", "--now", f"{day}T09:00+08:00", "--json"], env))
    return bool(result["working_day"])


def test_imported_days_change_what_remind_sweeps(tmp_path: Path, env: dict[str, str]) -> None:
    # Before: 2027 is unknown to the package, so only weekends count.
    assert remind_is_working("2027-02-10", env)
    assert not remind_is_working("2027-02-07", env)

    sheet = tmp_path / "2027.csv"
    sheet.write_text("日期,类型,名称\n2027-02-10,休,春节\n2027-02-07,班,春节\n", encoding="utf-8")
    imported = json_out(run(["calendar", "import", str(sheet), "--json"], env))
    assert imported["added"] == 2 and imported["years"] == [2027]

    assert not remind_is_working("2027-02-10", env)
    assert remind_is_working("2027-02-07", env)

    again = run(["calendar", "import", str(sheet)], env)
    assert again.returncode == 0 and "nothing changed" in again.stdout

    shown = json_out(run(["calendar", "show", "2027", "--json"], env))
    assert shown["covered"] is True
    assert {(d["date"], d["working"], d["name"]) for d in shown["days"]} == {
        ("2027-02-07", True, "春节"),
        ("2027-02-10", False, "春节"),
    }


def test_set_one_day_and_an_xlsx_file(tmp_path: Path, env: dict[str, str]) -> None:
    json_out(run(["calendar", "set", "2027-02-10", "holiday", "--name", "春节", "--json"], env))
    assert not remind_is_working("2027-02-10", env)
    book = Workbook()
    book.active.append(["date", "kind", "name"])
    book.active.append(["2027-02-10", "workday", None])
    book.save(tmp_path / "fix.xlsx")
    json_out(run(["calendar", "import", str(tmp_path / "fix.xlsx"), "--json"], env))
    assert remind_is_working("2027-02-10", env)
    audit = json_out(run(["audit", "--json"], env))
    assert [e["detail"]["kind"] for e in audit["entries"] if e["action"] == "calendar.set"] == [
        "holiday",
        "workday",
    ]


def test_the_shipped_2026_schedule_imports_unchanged(env: dict[str, str]) -> None:
    example = Path(__file__).parents[2] / "examples" / "calendar-2026.csv"
    result = json_out(run(["calendar", "import", str(example), "--json"], env))
    assert result["added"] == 39


def test_bad_rows_are_refused_with_their_number(tmp_path: Path, env: dict[str, str]) -> None:
    sheet = tmp_path / "bad.csv"
    sheet.write_text("date,kind\n2027-02-10,holiday\n2027-02-30,holiday\n", encoding="utf-8")
    result = run(["calendar", "import", str(sheet)], env)
    assert result.returncode == 2 and "row 3" in result.stderr
    shown = json_out(run(["calendar", "show", "2027", "--json"], env))
    assert shown["covered"] is False and shown["days"] == []
