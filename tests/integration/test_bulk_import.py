"""`import_rows` on SQLite and PostgreSQL: new records with codes, agreements and audit entries;
the same rows again change nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from handlers.core import Core
from handlers.usecases.bulk_import import import_rows
from storage.models import Agreement, AuditEntry, BindingCode, Commitment, Instrument

ROWS = [
    (2, {"type": "officer", "ref": "w", "name": "王丽", "city": "杭州市"}),
    (3, {"type": "officer", "ref": "z", "name": "赵局", "city": "省局", "role": "supervisor"}),
    (4, {"type": "enterprise", "ref": "a", "name": "甲厂", "city": "杭州市", "officer": "w"}),
    (
        5,
        {
            "type": "enterprise",
            "ref": "b",
            "name": "乙厂",
            "city": "宁波市",
            "officer": "z",
            "agreement_start": "2026-01-01",
            "agreement_end": "2027-12-31",
        },
    ),
    (
        30,
        {
            "type": "instrument",
            "enterprise": "a",
            "name": "压力表",
            "serial": "P-001",
            "verified": "2026-06-01",
            "cycle": "12个月",
        },
    ),
    *[
        (
            6 + n,
            {
                "type": "commitment",
                "enterprise": "ab"[n % 2],
                "party": "局方" if n % 3 else "企业",
                "text": f"事项{n}",
                "due": date(2027, 1, 1 + n),
            },
        )
        for n in range(20)
    ],
]


async def counts(core: Core) -> tuple[int, ...]:
    async with core.sessions() as session:
        found = []
        for model in (Commitment, Agreement, BindingCode, AuditEntry, Instrument):
            found.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
        return tuple(found)


async def test_import_then_reimport(any_core: Core) -> None:
    now = any_core.clock.now()
    async with any_core.sessions() as session, session.begin():
        first = await import_rows(session, ROWS, now)
    assert len(first.officers) == 2 and len(first.enterprises) == 2 and first.commitments == 20
    assert first.registers == 1
    # 24 adds, the agreement's period set, the instrument registered: each audited.
    assert await counts(any_core) == (20, 2, 4, 26, 1)
    async with any_core.sessions() as session:
        period = (await session.execute(select(Agreement.starts_on, Agreement.ends_on))).all()
        assert (date(2026, 1, 1), date(2027, 12, 31)) in period
    async with any_core.sessions() as session:
        responsible = await session.scalars(
            select(Commitment.responsible_id).where(Commitment.text == "事项1")
        )
        assert list(responsible) == [first.officers[1]["id"]]  # 乙厂's officer, the bureau's side
        audited = set(
            await session.scalars(
                select(AuditEntry.subject_id).where(AuditEntry.action == "commitment.add")
            )
        )
        assert audited == set(await session.scalars(select(Commitment.id)))

    async with any_core.sessions() as session, session.begin():
        again = await import_rows(session, ROWS, now)
    assert again.changed_nothing
    assert again.unchanged == {
        "officers": 2,
        "enterprises": 2,
        "commitments": 20,
        "registers": 1,
    }
    assert await counts(any_core) == (20, 2, 4, 26, 1)
