"""Import rows of the registers (instruments, certificates) and enterprises' industry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.dates import parse_date
from domain.errors import DomainError
from domain.industry import parse_industry_code
from domain.registers import RegisterKind, parse_cycle, valid_until
from handlers.usecases.registers import RegisterDraft, add_entry
from storage.models import Certificate, Enterprise, Instrument

# Chinese headers of the register columns, beside bulk_import.ALIASES.
ALIASES = {
    "型号": "model",
    "型号规格": "model",
    "出厂编号": "serial",
    "证书编号": "certificate_number",
    "检定机构": "body",
    "发证机构": "body",
    "检定日期": "verified",
    "检定周期": "cycle",
    "有效期至": "valid_until",
    "行业代码": "industry_code",
    "行业名称": "industry_name",
}


def _text(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _date(row: dict[str, Any], column: str) -> date | None:
    value = row.get(column)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(row, column)
    if not text:
        return None
    parsed = parse_date(text)
    if parsed is None:
        raise ValueError(f"{column} {text!r} is not a date (YYYY-MM-DD)")
    return parsed


async def import_register_row(
    session: AsyncSession,
    kind: RegisterKind,
    enterprise_id: int,
    row: dict[str, Any],
    now: datetime,
) -> bool:
    """Register one instrument or certificate unless the same entry is already there (a
    re-imported file changes nothing); True if added. ValueError says what is wrong."""
    verified_on = _date(row, "verified")
    until = _date(row, "valid_until")
    cycle_text = _text(row, "cycle")
    cycle = parse_cycle(cycle_text) if cycle_text else None
    if cycle_text and cycle is None:
        raise ValueError(f"cycle {cycle_text!r} is not a cycle (12, 12个月, 1年)")
    if until is None and verified_on is not None and cycle is not None:
        until = valid_until(verified_on, cycle)
    if until is None:
        raise ValueError("valid_until is missing (or verified and cycle)")
    if not _text(row, "name"):
        raise ValueError("name is missing")
    draft = RegisterDraft(
        kind=kind,
        name=_text(row, "name"),
        model=_text(row, "model") or None,
        serial_number=_text(row, "serial") or None,
        certificate_number=_text(row, "certificate_number") or None,
        body=_text(row, "body") or None,
        verified_on=verified_on,
        valid_until=until,
        cycle_months=cycle,
    )
    if await _already_registered(session, enterprise_id, draft):
        return False
    try:
        await add_entry(session, None, enterprise_id, draft, now)
    except DomainError as error:
        raise ValueError(error.key) from None
    return True


async def _already_registered(
    session: AsyncSession, enterprise_id: int, draft: RegisterDraft
) -> bool:
    """The same instrument (name, serial number, valid until) or certificate (title, number,
    expiry) of the same enterprise."""
    query: Any
    if draft.kind is RegisterKind.INSTRUMENT:
        query = select(Instrument.id).where(
            Instrument.enterprise_id == enterprise_id,
            Instrument.name == draft.name,
            Instrument.serial_number.is_(None)
            if draft.serial_number is None
            else Instrument.serial_number == draft.serial_number,
            Instrument.valid_until == draft.valid_until,
        )
    else:
        query = select(Certificate.id).where(
            Certificate.enterprise_id == enterprise_id,
            Certificate.title == draft.name,
            Certificate.number.is_(None)
            if draft.certificate_number is None
            else Certificate.number == draft.certificate_number,
            Certificate.expires_on == draft.valid_until,
        )
    return await session.scalar(query.limit(1)) is not None


def set_industry(enterprise: Enterprise, row: dict[str, Any]) -> None:
    """The enterprise row's optional GB/T 4754 code and name; ValueError on a bad code."""
    raw = _text(row, "industry_code")
    if not raw:
        return
    code = parse_industry_code(raw)
    if code is None:
        raise ValueError(f"industry_code {raw!r} is not a GB/T 4754 code (e.g. C3443)")
    enterprise.industry_code = code
    enterprise.industry_name = _text(row, "industry_name")[:100] or None
