"""Bulk import of officers, enterprises and commitments: all rows or none.

The columns are documented in README.md ("Import columns").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.dates import parse_date
from domain.errors import DomainError
from domain.roles import Party, Role
from handlers.usecases.commitments import add_commitment
from handlers.usecases.people import add_enterprise, add_officer

ALIASES = {
    "类型": "type",
    "引用": "ref",
    "名称": "name",
    "姓名": "name",
    "城市": "city",
    "角色": "role",
    "责任人": "officer",
    "信用代码": "credit_code",
    "统一社会信用代码": "credit_code",
    "企业": "enterprise",
    "承诺方": "party",
    "内容": "text",
    "承诺内容": "text",
    "截止日期": "due",
}
PARTIES = {
    "bureau": Party.BUREAU,
    "局方": Party.BUREAU,
    "enterprise": Party.ENTERPRISE,
    "企业": Party.ENTERPRISE,
}


class ImportRowError(Exception):
    """A row that cannot be imported; nothing of the file is kept."""

    def __init__(self, row: int, error: DomainError | str) -> None:
        super().__init__(row, error)
        self.row = row
        self.error = error


@dataclass
class ImportResult:
    officers: list[dict[str, Any]] = field(default_factory=list)
    enterprises: list[dict[str, Any]] = field(default_factory=list)
    commitments: int = 0


def normalise_header(cells: list[Any]) -> list[str]:
    names = [str(cell or "").strip().lower() for cell in cells]
    return [ALIASES.get(name, name) for name in names]


async def import_rows(
    session: AsyncSession, rows: list[tuple[int, dict[str, Any]]], now: datetime
) -> ImportResult:
    """Apply the rows in order within the caller's transaction; raise on the first bad row."""
    result = ImportResult()
    officers: dict[str, int] = {}
    enterprises: dict[str, int] = {}
    for number, row in rows:
        kind = _text(row, "type").lower()
        try:
            if kind == "officer":
                role = _text(row, "role").lower() or "officer"
                if role not in ("officer", "supervisor", "admin"):
                    raise DomainError("error.role_invalid")
                person, code = await add_officer(
                    session, _text(row, "name"), _text(row, "city"), Role(role), now
                )
                officers[_text(row, "ref") or str(person.id)] = person.id
                result.officers.append(
                    {"row": number, "id": person.id, "name": person.name, "code": code}
                )
            elif kind == "enterprise":
                officer_id = _reference(row, "officer", officers, number)
                enterprise, code = await add_enterprise(
                    session,
                    _text(row, "name"),
                    _text(row, "city"),
                    officer_id,
                    _text(row, "credit_code") or None,
                    now,
                )
                enterprises[_text(row, "ref") or str(enterprise.id)] = enterprise.id
                result.enterprises.append(
                    {"row": number, "id": enterprise.id, "name": enterprise.name, "code": code}
                )
            elif kind == "commitment":
                party = PARTIES.get(_text(row, "party").lower())
                if party is None:
                    raise ImportRowError(number, "party must be bureau or enterprise (局方/企业)")
                await add_commitment(
                    session,
                    _reference(row, "enterprise", enterprises, number),
                    party,
                    _text(row, "text"),
                    _due(row, number),
                    now,
                )
                result.commitments += 1
            elif kind:
                raise ImportRowError(
                    number, f"unknown type {kind!r} (officer, enterprise or commitment)"
                )
        except DomainError as error:
            raise ImportRowError(number, error) from None
    return result


def _text(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _reference(row: dict[str, Any], column: str, known: dict[str, int], number: int) -> int:
    value = _text(row, column)
    if value in known:
        return known[value]
    if value.isascii() and value.isdecimal() and 0 < int(value) < 2**63:
        return int(value)
    raise ImportRowError(number, f"{column} {value!r} is neither a ref above nor an id")


def _due(row: dict[str, Any], number: int) -> date:
    value = row.get("due")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    parsed = parse_date(_text(row, "due"))
    if parsed is None:
        raise ImportRowError(number, f"due {_text(row, 'due')!r} is not a date (YYYY-MM-DD)")
    return parsed
