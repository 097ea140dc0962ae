"""Bulk import of officers, enterprises and commitments: all rows or none, and idempotent.

The columns are documented in README.md ("Import columns"). Existing records are matched, not
duplicated: officers by name and bureau, enterprises by credit code (else name and city),
commitments by enterprise, party, text and due date; re-importing a file changes nothing.

Two phases keep it fast at a province's size: every row is checked against lookups loaded once
(no query per row), then the new records are written in a few bulk statements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.commitments import CommitmentStatus
from domain.credit_code import InvalidCreditCode, validate_credit_code
from domain.dates import EARLIEST_YEAR, LATEST_YEAR, in_bounds, parse_date
from domain.errors import DomainError
from domain.registers import RegisterKind
from domain.roles import BUREAU_ROLES, Party, Role
from handlers.usecases import register_import
from handlers.usecases.agreements import AgreementTerms, set_terms
from handlers.usecases.commitments import MAX_COMMITMENT_TEXT
from handlers.usecases.notify import audit_row
from handlers.usecases.people import (
    PROVINCE_NAMES,
    STAFF_CODE_LIFETIME,
    bureau_for,
    clean_name,
    new_code,
)
from storage.bulk import insert_rows
from storage.models import (
    Agreement,
    AuditEntry,
    BindingCode,
    Bureau,
    Commitment,
    Enterprise,
    Person,
)

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
    "协议开始": "agreement_start",
    "协议结束": "agreement_end",
    "局方签署人": "bureau_signatory",
    "企业签署人": "enterprise_signatory",
    **register_import.ALIASES,
}
PARTIES = {
    "bureau": Party.BUREAU,
    "局方": Party.BUREAU,
    "enterprise": Party.ENTERPRISE,
    "企业": Party.ENTERPRISE,
}
# The template's columns, in the order `qabot import --template` writes them.
TEMPLATE_COLUMNS = [
    "类型",
    "引用",
    "名称",
    "城市",
    "角色",
    "责任人",
    "信用代码",
    "企业",
    "承诺方",
    "内容",
    "截止日期",
    "行业代码",
    "行业名称",
    "协议开始",
    "协议结束",
    "局方签署人",
    "企业签署人",
    "型号",
    "出厂编号",
    "证书编号",
    "检定机构",
    "检定日期",
    "检定周期",
    "有效期至",
]
# Rows per bulk statement (well below the databases' parameter limits).
_BATCH = 500
Progress = Callable[[int, int], None]


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
    registers: int = 0
    # Rows that matched a record already there: left as they are.
    unchanged: dict[str, int] = field(
        default_factory=lambda: {
            "officers": 0,
            "enterprises": 0,
            "commitments": 0,
            "registers": 0,
        }
    )

    @property
    def changed_nothing(self) -> bool:
        return not (self.officers or self.enterprises or self.commitments or self.registers)


def normalise_header(cells: list[Any]) -> list[str]:
    names = [str(cell or "").strip().lower() for cell in cells]
    return [ALIASES.get(name, name) for name in names]


@dataclass
class _NewOfficer:
    row: int
    person: Person


@dataclass
class _NewEnterprise:
    row: int
    enterprise: Enterprise
    # Its officer's id is known only once new officers are written.
    officer: Person


# An enterprise as later rows refer to it: an existing id, or one created by this file.
EnterpriseRef = int | _NewEnterprise
OfficerRef = int | _NewOfficer


@dataclass
class _Lookups:
    """Everything the rows are checked against, loaded once."""

    bureaus: dict[str, Bureau]
    province: Bureau | None
    officers: dict[int, Person]
    officer_by_name: dict[tuple[str, int], Person]
    enterprise_ids: set[int]
    enterprise_bureau: dict[int, int]
    enterprise_by_code: dict[str, int]
    enterprise_by_name: dict[tuple[str, int], int]
    commitment_keys: set[tuple[int, str, str, date]]
    codes: set[str]


async def _load(session: AsyncSession) -> _Lookups:
    bureaus = list(await session.scalars(select(Bureau)))
    officers = list(
        await session.scalars(
            select(Person).where(Person.role.in_([r.value for r in BUREAU_ROLES]))
        )
    )
    enterprises = (
        await session.execute(
            select(Enterprise.id, Enterprise.name, Enterprise.bureau_id, Enterprise.credit_code)
        )
    ).all()
    commitments = await session.execute(
        select(Commitment.enterprise_id, Commitment.party, Commitment.text, Commitment.due_on)
    )
    return _Lookups(
        bureaus={b.city: b for b in bureaus if b.city is not None},
        province=next((b for b in bureaus if b.is_province), None),
        officers={p.id: p for p in officers},
        officer_by_name={(p.name, p.bureau_id or 0): p for p in officers},
        enterprise_ids={e.id for e in enterprises},
        enterprise_bureau={e.id: e.bureau_id for e in enterprises},
        enterprise_by_code={e.credit_code: e.id for e in enterprises if e.credit_code},
        enterprise_by_name={(e.name, e.bureau_id): e.id for e in enterprises},
        commitment_keys={(e, Party(p).value, t, d) for e, p, t, d in commitments},
        codes=set(await session.scalars(select(BindingCode.code))),
    )


async def import_rows(
    session: AsyncSession,
    rows: list[tuple[int, dict[str, Any]]],
    now: datetime,
    progress: Progress | None = None,
) -> ImportResult:
    """Check every row, then write the new records, within the caller's transaction; raise
    on the first bad row (the caller rolls back, so nothing is kept)."""
    report = progress or (lambda done, total: None)
    seen = await _load(session)
    result = ImportResult()
    officers: dict[str, OfficerRef] = {}
    enterprises: dict[str, EnterpriseRef] = {}
    new_officers: list[_NewOfficer] = []
    new_enterprises: list[_NewEnterprise] = []
    new_commitments: list[tuple[EnterpriseRef, Party, str, date]] = []
    # Officers and enterprises created by this file, for matching later rows of it too.
    planned_names: dict[tuple[str, int], _NewEnterprise] = {}
    planned_codes: dict[str, _NewEnterprise] = {}
    # Rows that need the enterprise's id, applied once new enterprises are written.
    later: list[tuple[int, str, EnterpriseRef, dict[str, Any]]] = []
    for done, (number, row) in enumerate(rows, start=1):
        kind = _text(row, "type").lower()
        try:
            if kind == "officer":
                ref = await _officer_row(session, seen, row, now, new_officers, number, result)
                officers[_text(row, "ref") or str(_officer_id_or_name(ref))] = ref
            elif kind == "enterprise":
                found = await _enterprise_row(
                    session,
                    seen,
                    row,
                    now,
                    officers,
                    number,
                    new_enterprises,
                    planned_names,
                    planned_codes,
                    result,
                )
                if _text(row, "ref"):
                    enterprises[_text(row, "ref")] = found
                if not isinstance(found, int):
                    try:
                        register_import.set_industry(found.enterprise, row)
                    except ValueError as error:
                        raise ImportRowError(number, str(error)) from None
                if any(_text(row, column) for column in AGREEMENT_COLUMNS):
                    _agreement_terms(row, number)  # checked now, applied after the writes
                    later.append((number, kind, found, row))
            elif kind == "commitment":
                _commitment_row(seen, row, enterprises, number, new_commitments, result)
            elif kind in (RegisterKind.INSTRUMENT, RegisterKind.CERTIFICATE):
                later.append((number, kind, _enterprise_ref(seen, row, enterprises, number), row))
            elif kind:
                raise ImportRowError(
                    number,
                    f"unknown type {kind!r} "
                    "(officer, enterprise, commitment, instrument or certificate)",
                )
        except DomainError as error:
            raise ImportRowError(number, error) from None
        if done % _BATCH == 0:
            report(done, len(rows))
    report(len(rows), len(rows))
    await _write(session, seen, now, new_officers, new_enterprises, new_commitments, result)
    for number, kind, firm, row in later:
        try:
            if kind == "enterprise":
                await _apply_agreement(session, firm, row, number, now)
            elif await register_import.import_register_row(
                session, RegisterKind(kind), _enterprise_id(firm), row, now
            ):
                result.registers += 1
            else:
                result.unchanged["registers"] += 1
        except ValueError as error:
            raise ImportRowError(number, str(error)) from None
        except DomainError as error:
            raise ImportRowError(number, error) from None
    return result


def _officer_id_or_name(ref: OfficerRef) -> int | str:
    return ref if isinstance(ref, int) else ref.person.name


async def _bureau(session: AsyncSession, seen: _Lookups, city: str) -> Bureau:
    cleaned = clean_name(city, "error.city_invalid")
    if cleaned.lower() in PROVINCE_NAMES:
        if seen.province is None:
            seen.province = await bureau_for(session, cleaned)
        return seen.province
    if cleaned not in seen.bureaus:
        seen.bureaus[cleaned] = await bureau_for(session, cleaned)
    return seen.bureaus[cleaned]


async def _officer_row(
    session: AsyncSession,
    seen: _Lookups,
    row: dict[str, Any],
    now: datetime,
    new_officers: list[_NewOfficer],
    number: int,
    result: ImportResult,
) -> OfficerRef:
    role_text = _text(row, "role").lower() or "officer"
    if role_text not in ("officer", "supervisor", "admin"):
        raise DomainError("error.role_invalid")
    name = clean_name(_text(row, "name"))
    bureau = await _bureau(session, seen, _text(row, "city"))
    existing = seen.officer_by_name.get((name, bureau.id))
    if existing is not None:
        result.unchanged["officers"] += 1
        return existing.id
    for planned in new_officers:
        if (planned.person.name, planned.person.bureau_id) == (name, bureau.id):
            result.unchanged["officers"] += 1
            return planned
    person = Person(name=name, role=Role(role_text), bureau_id=bureau.id, created_at=now)
    person.bureau = bureau
    planned = _NewOfficer(number, person)
    new_officers.append(planned)
    return planned


async def _enterprise_row(
    session: AsyncSession,
    seen: _Lookups,
    row: dict[str, Any],
    now: datetime,
    officers: dict[str, OfficerRef],
    number: int,
    new_enterprises: list[_NewEnterprise],
    planned_names: dict[tuple[str, int], _NewEnterprise],
    planned_codes: dict[str, _NewEnterprise],
    result: ImportResult,
) -> EnterpriseRef:
    officer = _officer_reference(seen, row, officers, number)
    bureau = await _bureau(session, seen, _text(row, "city"))
    officer_person = officer if isinstance(officer, Person) else officer.person
    officer_bureau = officer_person.bureau
    if officer_bureau is None or not (officer_bureau.is_province or officer_bureau.id == bureau.id):
        raise DomainError("error.officer_other_city", city=bureau.name)
    name = clean_name(_text(row, "name"), "error.enterprise_name_invalid")
    credit_code: str | None = None
    if _text(row, "credit_code"):
        try:
            credit_code = validate_credit_code(_text(row, "credit_code"))
        except InvalidCreditCode:
            raise DomainError("error.credit_code_invalid", code=_text(row, "credit_code")) from None
    # Matched by credit code when the row has one, else by name and city.
    if credit_code is not None:
        matched: EnterpriseRef | None = seen.enterprise_by_code.get(credit_code) or (
            planned_codes.get(credit_code)
        )
    else:
        matched = seen.enterprise_by_name.get((name, bureau.id)) or planned_names.get(
            (name, bureau.id)
        )
    if matched is not None:
        result.unchanged["enterprises"] += 1
        return matched
    enterprise = Enterprise(
        name=name,
        bureau_id=bureau.id,
        credit_code=credit_code,
        created_at=now,
    )
    new_firm = _NewEnterprise(number, enterprise, officer_person)
    new_enterprises.append(new_firm)
    planned_names[(name, bureau.id)] = new_firm
    if credit_code is not None:
        planned_codes[credit_code] = new_firm
    return new_firm


def _officer_reference(
    seen: _Lookups, row: dict[str, Any], officers: dict[str, OfficerRef], number: int
) -> Person | _NewOfficer:
    value = _text(row, "officer")
    found: OfficerRef | None = officers.get(value)
    if found is None and _is_id(value):
        found = int(value)
    if found is None:
        raise ImportRowError(number, f"officer {value!r} is neither a ref above nor an id")
    if isinstance(found, _NewOfficer):
        return found
    person = seen.officers.get(found)
    if person is None:
        raise DomainError("error.officer_unknown", id=found)
    if person.deactivated_at is not None:
        raise DomainError("error.officer_deactivated", id=found)
    return person


def _is_id(value: str) -> bool:
    """An id as written in a cell: ASCII digits that fit a database id (BIGINT)."""
    return value.isascii() and value.isdecimal() and 0 < int(value) < 2**63


def _enterprise_ref(
    seen: _Lookups, row: dict[str, Any], enterprises: dict[str, EnterpriseRef], number: int
) -> EnterpriseRef:
    value = _text(row, "enterprise")
    enterprise: EnterpriseRef | None = enterprises.get(value)
    if enterprise is None:
        if not _is_id(value):
            raise ImportRowError(number, f"enterprise {value!r} is neither a ref above nor an id")
        if int(value) not in seen.enterprise_ids:
            raise DomainError("error.enterprise_unknown", id=int(value))
        enterprise = int(value)
    return enterprise


def _commitment_row(
    seen: _Lookups,
    row: dict[str, Any],
    enterprises: dict[str, EnterpriseRef],
    number: int,
    new_commitments: list[tuple[EnterpriseRef, Party, str, date]],
    result: ImportResult,
) -> None:
    party = PARTIES.get(_text(row, "party").lower())
    if party is None:
        raise ImportRowError(number, "party must be bureau or enterprise (局方/企业)")
    enterprise = _enterprise_ref(seen, row, enterprises, number)
    text = " ".join(_text(row, "text").split())
    if not text or len(text) > MAX_COMMITMENT_TEXT:
        raise DomainError("error.commitment_text_invalid", limit=MAX_COMMITMENT_TEXT)
    due = _date_cell(row, "due", number)
    if not in_bounds(due):
        raise DomainError(
            "error.date_out_of_range",
            value=due.isoformat(),
            earliest=EARLIEST_YEAR,
            latest=LATEST_YEAR,
        )
    # An enterprise created by this file is told apart by its planned record's identity.
    owner = enterprise if isinstance(enterprise, int) else -id(enterprise)
    key = (owner, party.value, text, due)
    if key in seen.commitment_keys:
        result.unchanged["commitments"] += 1
        return
    seen.commitment_keys.add(key)
    new_commitments.append((enterprise, party, text, due))


async def _write(
    session: AsyncSession,
    seen: _Lookups,
    now: datetime,
    new_officers: list[_NewOfficer],
    new_enterprises: list[_NewEnterprise],
    new_commitments: list[tuple[EnterpriseRef, Party, str, date]],
    result: ImportResult,
) -> None:
    """Insert what the rows planned, in bulk, with codes, agreements and audit entries."""
    audits: list[dict[str, Any]] = []
    codes: list[dict[str, Any]] = []
    session.add_all([planned.person for planned in new_officers])
    await session.flush()
    for planned in new_officers:
        person = planned.person
        code = _fresh_code(seen)
        codes.append(
            {
                "code": code,
                "person_id": person.id,
                "enterprise_id": None,
                "reusable": False,
                "expires_at": None,
                "created_at": now,
            }
        )
        audits.append(audit_row(now, "person.add", "person", person.id, role=person.role.value))
        result.officers.append(
            {"row": planned.row, "id": person.id, "name": person.name, "code": code}
        )
    for start in range(0, len(new_enterprises), _BATCH):
        firms = new_enterprises[start : start + _BATCH]
        for firm in firms:
            firm.enterprise.officer_id = firm.officer.id
        session.add_all([firm.enterprise for firm in firms])
        await session.flush()
    agreements: dict[int, int] = {}
    officers: dict[int, int | None] = {}
    for firm in new_enterprises:
        enterprise = firm.enterprise
        code = _fresh_code(seen)
        codes.append(
            {
                "code": code,
                "person_id": None,
                "enterprise_id": enterprise.id,
                "reusable": True,
                "expires_at": now + STAFF_CODE_LIFETIME,
                "created_at": now,
            }
        )
        audits.append(
            audit_row(
                now, "enterprise.add", "enterprise", enterprise.id, officer_id=enterprise.officer_id
            )
        )
        result.enterprises.append(
            {"row": firm.row, "id": enterprise.id, "name": enterprise.name, "code": code}
        )
    await insert_rows(session, BindingCode, codes)

    rows: list[dict[str, Any]] = []
    enterprise_ids = {_enterprise_id(ref) for ref, *_ in new_commitments}
    if enterprise_ids:
        agreements = await _agreements(session, enterprise_ids, now)
        for start in range(0, len(enterprise_ids), _BATCH):
            chunk = sorted(enterprise_ids)[start : start + _BATCH]
            query = select(Enterprise.id, Enterprise.officer_id).where(Enterprise.id.in_(chunk))
            for enterprise_id, officer_id in await session.execute(query):
                officers[enterprise_id] = officer_id
    for ref, party, text, due in new_commitments:
        enterprise_id = _enterprise_id(ref)
        rows.append(
            {
                "agreement_id": agreements[enterprise_id],
                "enterprise_id": enterprise_id,
                "party": party,
                "text": text,
                "responsible_id": officers[enterprise_id] if party is Party.BUREAU else None,
                "due_on": due,
                "status": CommitmentStatus.OPEN,
                "created_at": now,
                "version": 1,
            }
        )
    # A plain multi-row INSERT: asking SQLite for the ids in order (RETURNING sorted by
    # parameter) would send one statement per row. The new rows are read back instead: in
    # this transaction, after the highest id before it, with this import's timestamp.
    before = await session.scalar(select(func.max(Commitment.id))) or 0
    await insert_rows(session, Commitment, rows)
    added = await session.execute(
        select(Commitment.id, Commitment.party)
        .where(Commitment.id > before, Commitment.created_at == now)
        .order_by(Commitment.id)
    )
    audits += [
        audit_row(now, "commitment.add", "commitment", commitment_id, party=party.value)
        for commitment_id, party in added
    ]
    result.commitments = len(rows)
    await insert_rows(session, AuditEntry, audits)


def _enterprise_id(ref: EnterpriseRef) -> int:
    return ref if isinstance(ref, int) else ref.enterprise.id


async def _agreements(
    session: AsyncSession, enterprise_ids: set[int], now: datetime
) -> dict[int, int]:
    """The agreement of each enterprise, created where missing."""
    wanted = list(enterprise_ids)
    found: dict[int, int] = {}
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        query = select(Agreement.enterprise_id, Agreement.id).where(
            Agreement.enterprise_id.in_(chunk)
        )
        for enterprise_id, agreement_id in await session.execute(query):
            found[enterprise_id] = agreement_id
    missing: list[dict[str, Any]] = [
        {"enterprise_id": e, "created_at": now} for e in wanted if e not in found
    ]
    if missing:
        await insert_rows(session, Agreement, missing)
        created = [row["enterprise_id"] for row in missing]
        for start in range(0, len(created), _BATCH):
            query = select(Agreement.enterprise_id, Agreement.id).where(
                Agreement.enterprise_id.in_(created[start : start + _BATCH])
            )
            for enterprise_id, agreement_id in await session.execute(query):
                found[enterprise_id] = agreement_id
    return found


def _fresh_code(seen: _Lookups) -> str:
    while True:
        code = new_code()
        if code not in seen.codes:
            seen.codes.add(code)
            return code


def _text(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


AGREEMENT_COLUMNS = ("agreement_start", "agreement_end", "bureau_signatory", "enterprise_signatory")


def _agreement_terms(row: dict[str, Any], number: int) -> AgreementTerms:
    if not (_text(row, "agreement_start") and _text(row, "agreement_end")):
        raise ImportRowError(
            number, "agreement_start and agreement_end (协议开始/协议结束) go together"
        )
    return AgreementTerms(
        starts_on=_date_cell(row, "agreement_start", number),
        ends_on=_date_cell(row, "agreement_end", number),
        bureau_signatory=_text(row, "bureau_signatory") or None,
        enterprise_signatory=_text(row, "enterprise_signatory") or None,
    )


async def _apply_agreement(
    session: AsyncSession, ref: EnterpriseRef, row: dict[str, Any], number: int, now: datetime
) -> None:
    """Set the agreement's period and signatories from the enterprise row: for a new
    enterprise, or one whose agreement has no period yet (a matched row changes nothing)."""
    enterprise_id = _enterprise_id(ref)
    if isinstance(ref, int):
        existing = await session.scalar(
            select(Agreement.ends_on).where(Agreement.enterprise_id == enterprise_id)
        )
        if existing is not None:
            return
    await set_terms(session, enterprise_id, _agreement_terms(row, number), now)


def _date_cell(row: dict[str, Any], column: str, number: int) -> date:
    value = row.get(column)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    parsed = parse_date(_text(row, column))
    if parsed is None:
        raise ImportRowError(number, f"{column} {_text(row, column)!r} is not a date (YYYY-MM-DD)")
    return parsed
