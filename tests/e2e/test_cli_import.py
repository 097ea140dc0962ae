"""`qabot import` is idempotent, `--template` writes a workbook that imports, a terminal sees
progress; `qabot officer|enterprise …` manage people and assignments, all in the audit trail."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from bot.importer import ProgressBar
from tests.e2e.test_cli import IMPORT_CSV, env, json_out, run

__all__ = ["env"]


def test_reimporting_the_same_file_changes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "import.csv"
    source.write_text(IMPORT_CSV, encoding="utf-8")
    first = json_out(run(["import", str(source), "--json"], env))
    assert first["changed"] and first["commitments"] == 2 and len(first["enterprises"]) == 1

    again = run(["import", str(source)], env)
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert "1 enterprises" in again.stdout and "2 commitments" in again.stdout

    # Matched by credit code even under another name; a new commitment is added to it.
    changed = IMPORT_CSV.replace("杭州精工,", "杭州精工机械有限公司,") + (
        "commitment,,,,,,,jg,局方,送检,2027-02-01\n"
    )
    source.write_text(changed, encoding="utf-8")
    third = json_out(run(["import", str(source), "--json"], env))
    assert third["enterprises"] == [] and third["commitments"] == 1
    assert third["unchanged"] == {"officers": 2, "enterprises": 1, "commitments": 2, "registers": 0}
    listed = json_out(run(["enterprise", "list", "--json"], env))["enterprises"]
    assert [e["name"] for e in listed] == ["杭州精工"]


def test_without_credit_code_name_and_city_match(env: dict[str, str], tmp_path: Path) -> None:
    rows = "type,ref,name,city,officer\nofficer,w,王丽,杭州市,\nenterprise,e,某厂,杭州市,w\n"
    source = tmp_path / "a.csv"
    source.write_text(rows, encoding="utf-8")
    json_out(run(["import", str(source), "--json"], env))
    other_city = rows + "officer,l,李强,宁波市,\nenterprise,,某厂,宁波市,l\n"
    source.write_text(other_city, encoding="utf-8")
    result = json_out(run(["import", str(source), "--json"], env))
    assert [e["name"] for e in result["enterprises"]] == ["某厂"]  # Ningbo's is another one
    assert result["unchanged"]["enterprises"] == 1


def test_template_has_the_columns_and_imports(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "template.xlsx"
    json_out(run(["import", "--template", str(target), "--json"], env))
    sheet = openpyxl.load_workbook(target).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["类型", "引用", "名称"] and "截止日期" in header
    assert {"协议开始", "出厂编号", "检定周期", "有效期至", "行业代码"} <= set(header)
    assert sheet.max_row == 6
    result = json_out(run(["import", str(target), "--json"], env))
    assert result["commitments"] == 2 and result["officers"][0]["name"] == "王丽"
    assert result["registers"] == 1


def test_progress_bar_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert ProgressBar.for_terminal(io.StringIO(), 50_000) is None
    terminal = Terminal()
    bar = ProgressBar.for_terminal(terminal, 40_000)
    assert bar is not None
    bar(20_000, 40_000)
    bar.close()
    assert "50%" in terminal.getvalue() and "20000/40000" in terminal.getvalue()


def test_officer_and_enterprise_management(env: dict[str, str]) -> None:
    wang = json_out(run(["officer", "add", "--name", "王丽", "--city", "杭州市", "--json"], env))
    zhang = json_out(run(["officer", "add", "--name", "张敏", "--city", "杭州市", "--json"], env))
    firm = json_out(
        run(
            ["enterprise", "add", "--name", "精工", "--city", "杭州市"]
            + ["--officer", str(wang["id"]), "--json"],
            env,
        )
    )
    refused = run(["officer", "deactivate", str(wang["id"]), "--json"], env)
    assert refused.returncode == 2 and "enterprise reassign" in refused.stderr
    moved = json_out(
        run(
            ["enterprise", "reassign", "--from", str(wang["id"]), "--officer", str(zhang["id"])]
            + ["--open-reports", "--json"],
            env,
        )
    )
    assert [m["enterprise_id"] for m in moved["reassigned"]] == [firm["id"]]
    json_out(run(["officer", "deactivate", str(wang["id"]), "--json"], env))
    stale = run(["enterprise", "reassign", str(firm["id"]), "--officer", str(wang["id"])], env)
    assert stale.returncode == 2 and "停用" in stale.stderr
    json_out(run(["officer", "edit", str(zhang["id"]), "--role", "supervisor", "--json"], env))
    json_out(run(["enterprise", "edit", str(firm["id"]), "--name", "精工机械", "--json"], env))
    officers = json_out(run(["officer", "list", "--all", "--json"], env))["officers"]
    assert [(o["name"], o["role"], o["active"]) for o in officers] == [
        ("王丽", "officer", False),
        ("张敏", "supervisor", True),
    ]
    trail = json_out(run(["audit", "--enterprise", str(firm["id"]), "--json"], env))["entries"]
    assert [e["action"] for e in trail] == [
        "enterprise.add",
        "enterprise.reassign",
        "enterprise.edit",
    ]
    readable = run(["audit", "--person", str(wang["id"])], env).stdout
    assert "person.deactivate" in readable and "王丽" in readable
