"""/instruments and /certificates: the registers, with a photo of the certificate read by OCR.

Add: photo (or type instead) → what was read, with Confirm / Change → missing fields asked →
registered. Update after a verification (renewal) runs the same steps on an existing entry.
Officers and supervisors see per enterprise how many entries are overdue, and open a list.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from domain.dates import parse_date
from domain.errors import DomainError
from domain.registers import RegisterKind, parse_cycle, valid_until
from domain.roles import Role
from handlers import register_views as rv
from handlers.attachments import clean_text, receive_file
from handlers.core import MAX_FILE_BYTES, Core
from handlers.messages import Button, IncomingEvent
from handlers.payloads import (
    AddRegisterEntry,
    CancelRegisterEntry,
    ChangeRegisterField,
    ConfirmRegisterEntry,
    OpenRegister,
    RenewRegisterEntry,
    SkipRegisterPhoto,
)
from handlers.turn import Turn
from handlers.usecases import registers as usecases
from storage.models import ConversationState, Enterprise

log = logging.getLogger(__name__)

FLOW = rv.FLOW
DATE_FIELDS = ("verified_on", "valid_until")
MAX_TYPED = 200


async def show_instruments(turn: Turn) -> None:
    """Shows the enterprise's instruments, or the overdue counts per enterprise."""
    await _show(turn, RegisterKind.INSTRUMENT)


async def show_certificates(turn: Turn) -> None:
    """Shows the enterprise's certificates, or the expired counts per enterprise."""
    await _show(turn, RegisterKind.CERTIFICATE)


async def _show(turn: Turn, kind: RegisterKind) -> None:
    actor = turn.actor
    if actor.role is Role.STAFF and actor.enterprise_id is not None:
        await _list(turn, kind, actor.enterprise_id)
        return
    counts = await usecases.late_counts(turn.session, actor, kind, turn.today)
    if not counts:
        turn.say(turn.t(f"registers.none_in_scope.{kind.value}"))
        return
    lines = [
        turn.t(
            f"registers.count_line.{kind.value}",
            enterprise=count.enterprise_name,
            total=count.total,
            late=count.late,
        )
        for count in counts[: rv.MAX_LISTED]
    ]
    turn.say(
        "\n".join(lines),
        title=turn.t(f"registers.counts_title.{kind.value}"),
        buttons=[
            [rv.list_button(count.enterprise_name, kind, count.enterprise_id)]
            for count in counts[: rv.MAX_LISTED]
        ],
    )


async def _list(turn: Turn, kind: RegisterKind, enterprise_id: int) -> None:
    entries = await usecases.entries_of(turn.session, turn.actor, kind, enterprise_id)
    enterprise = await turn.session.get(Enterprise, enterprise_id)
    turn.reply(
        rv.register_list(
            turn.lang,
            kind,
            enterprise.name if enterprise else "",
            entries,
            turn.today,
            may_change=turn.actor.role is Role.STAFF,
        )
    )


async def open_list(turn: Turn, pressed: OpenRegister) -> None:
    """Opens one enterprise's register (officers, from the counts or a reminder)."""
    await _list(turn, pressed.kind, pressed.enterprise_id)


async def add(turn: Turn, pressed: AddRegisterEntry) -> None:
    """Starts registering: asks for the photo of the certificate."""
    kind = pressed.kind
    _require_staff(turn)
    turn.end()
    turn.goto(FLOW, "photo", kind=kind.value, target=None, fields={}, evidence_id=None)
    _ask_photo(turn, kind)


async def renew(turn: Turn, pressed: RenewRegisterEntry) -> None:
    """Starts recording a new verification (or renewal) of an entry: asks for the photo."""
    kind = pressed.kind
    _require_staff(turn)
    entry, _ = await usecases.load_entry(turn.session, turn.actor, kind, pressed.entry_id)
    turn.end()
    turn.goto(FLOW, "photo", kind=kind.value, target=entry.id, fields={}, evidence_id=None)
    _ask_photo(turn, kind)


def _require_staff(turn: Turn) -> None:
    # Registers are the enterprise's own records; the bureau reads them.
    if turn.actor.role is not Role.STAFF:
        raise DomainError("registers.staff_only")


def _ask_photo(turn: Turn, kind: RegisterKind) -> None:
    reader = turn.core.certificate_reader
    key = "registers.ask_photo" if reader is not None else "registers.ask_photo_no_ocr"
    turn.say(
        turn.t(key, what=turn.t(f"registers.what.{kind.value}")),
        buttons=[[rv.skip_photo_button(turn.lang), rv.cancel_button(turn.lang)]],
    )


async def on_file(turn: Turn) -> None:
    """Keeps the photo as evidence, reads it, and shows what was read."""
    if not turn.in_step(FLOW, "photo"):
        turn.say(turn.t("file.not_expected"))
        return
    attachment = await receive_file(turn)
    kind = RegisterKind(turn.data["kind"])
    fields: dict[str, Any] = {}
    reader = turn.core.certificate_reader
    read = False
    if reader is not None and attachment.mime_type.startswith("image/"):
        reading = await reader.read(await turn.core.files.load(attachment.sha256, turn.session))
        if reading is not None:
            read = True
            fields = {
                "name": reading.instrument,
                "model": reading.model,
                "serial_number": reading.serial_number,
                "certificate_number": reading.certificate_number,
                "verified_on": reading.verified_on,
                "valid_until": reading.valid_until,
                "body": reading.verifying_body,
            }
    stored = {name: _store(value) for name, value in fields.items() if value is not None}
    turn.goto(FLOW, "photo", fields=stored, evidence_id=attachment.id, read=read)
    if read and not stored:
        turn.say(turn.t("registers.nothing_read"))
    elif not read and reader is not None:
        turn.say(turn.t("registers.ocr_failed"))
    await _next_missing_or_summary(turn, kind)


async def read_ahead(core: Core, event: IncomingEvent) -> None:
    """Read a certificate photo before its turn takes a turn slot and a transaction.

    OCR takes seconds; inside the turn it would hold the one SQLite writer meanwhile. The
    reader keeps the reading, so the turn's own read (on_file) finds it at once.
    """
    reader = core.certificate_reader
    if reader is None or event.file is None or not event.file.mime_type.startswith("image/"):
        return
    async with core.sessions() as session:
        state = await session.get(ConversationState, (event.channel, event.chat_id))
    if state is None or (state.flow, state.step) != (FLOW, "photo"):
        return
    try:
        content = await event.file.load()
    except Exception:
        return  # the turn downloads it again and says what went wrong
    if 0 < len(content) <= MAX_FILE_BYTES:
        await reader.read(content)


async def skip_photo(turn: Turn, _: SkipRegisterPhoto) -> None:
    """Types every field instead of sending a photo."""
    if not turn.in_step(FLOW, "photo"):
        turn.say(turn.t("error.button_stale"))
        return
    await _next_missing_or_summary(turn, RegisterKind(turn.data["kind"]))


def _store(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _draft(turn: Turn) -> usecases.RegisterDraft:
    fields = turn.data.get("fields", {})
    return usecases.RegisterDraft(
        kind=RegisterKind(turn.data["kind"]),
        name=fields.get("name"),
        model=fields.get("model"),
        serial_number=fields.get("serial_number"),
        certificate_number=fields.get("certificate_number"),
        body=fields.get("body"),
        verified_on=date.fromisoformat(fields["verified_on"])
        if fields.get("verified_on")
        else None,
        valid_until=date.fromisoformat(fields["valid_until"])
        if fields.get("valid_until")
        else None,
        cycle_months=fields.get("cycle_months"),
        evidence_id=turn.data.get("evidence_id"),
    )


def _required(turn: Turn) -> list[str]:
    draft = _draft(turn)
    # Renewing keeps the name; only the new dates are needed.
    if turn.data.get("target") is not None:
        return [name for name in draft.missing() if name != "name"]
    return draft.missing()


async def _next_missing_or_summary(turn: Turn, kind: RegisterKind) -> None:
    missing = _required(turn)
    if missing:
        _ask_field(turn, kind, missing[0])
        return
    turn.goto(FLOW, "confirm")
    turn.reply(rv.draft_summary(turn.lang, kind, _draft_fields(turn), turn.data.get("read", False)))


def _draft_fields(turn: Turn) -> dict[str, object]:
    fields = dict(turn.data.get("fields", {}))
    return fields


def _ask_field(turn: Turn, kind: RegisterKind, name: str) -> None:
    turn.goto(FLOW, "field", asking=name)
    key = f"registers.ask.{name}"
    if name == "name":
        key = f"registers.ask.name.{kind.value}"
    if name == "valid_until" and kind is RegisterKind.INSTRUMENT:
        key = "registers.ask.valid_until_or_cycle"
    turn.say(turn.t(key), buttons=[[rv.cancel_button(turn.lang)]])


async def on_text(turn: Turn) -> None:
    """Takes a typed field value and moves on."""
    if not turn.in_step(FLOW, "field"):
        turn.say(turn.t("registers.use_buttons"))
        return
    text = clean_text(turn, MAX_TYPED)
    if text is None:
        return
    kind = RegisterKind(turn.data["kind"])
    name = turn.data["asking"]
    fields = dict(turn.data.get("fields", {}))
    if name in DATE_FIELDS:
        typed = parse_date(text)
        if typed is None and name == "valid_until" and fields.get("verified_on"):
            # "12个月" with a verification date known: the cycle gives the last valid day.
            months = parse_cycle(text)
            if months is not None:
                fields["cycle_months"] = months
                typed = valid_until(date.fromisoformat(fields["verified_on"]), months)
        if typed is None:
            turn.say(turn.t("registers.bad_date"))
            return
        fields[name] = typed.isoformat()
    else:
        fields[name] = text
    turn.goto(FLOW, "field", fields=fields)
    await _next_missing_or_summary(turn, kind)


async def change(turn: Turn, pressed: ChangeRegisterField) -> None:
    """Offers the fields to correct, or asks for the one chosen."""
    field = pressed.field
    if not turn.in_step(FLOW, "confirm", "field"):
        turn.say(turn.t("error.button_stale"))
        return
    kind = RegisterKind(turn.data["kind"])
    if not field:
        names = rv.DRAFT_FIELDS[kind]
        rows: list[list[Button]] = [
            [rv.change_button(turn.lang, name) for name in names[start : start + 2]]
            for start in range(0, len(names), 2)
        ]
        turn.say(turn.t("registers.change_which"), buttons=rows)
        return
    if field not in rv.DRAFT_FIELDS[kind]:
        turn.say(turn.t("error.button_invalid"))
        return
    _ask_field(turn, kind, field)


async def confirm(turn: Turn, _: ConfirmRegisterEntry) -> None:
    """Registers the entry (or records the renewal) as shown."""
    if not turn.in_step(FLOW, "confirm"):
        turn.say(turn.t("error.button_stale"))
        return
    draft = _draft(turn)
    target = turn.data.get("target")
    enterprise_id = turn.actor.enterprise_id
    if target is not None:
        entry = await usecases.renew_entry(
            turn.session, turn.actor, draft.kind, int(target), draft, turn.now
        )
    else:
        if enterprise_id is None:
            raise DomainError("registers.staff_only")
        entry = await usecases.add_entry(turn.session, turn.actor, enterprise_id, draft, turn.now)
    turn.end()
    assert draft.valid_until is not None
    turn.say(
        turn.t(
            "registers.renewed" if target is not None else f"registers.added.{draft.kind.value}",
            id=entry.id,
            until=draft.valid_until.isoformat(),
            when=rv.deadline_text(turn.lang, draft.valid_until, turn.today),
        ),
        edit=True,
    )


async def cancel(turn: Turn, _: CancelRegisterEntry) -> None:
    """Drops the draft (the photo already stored stays as a file)."""
    if turn.state.flow != FLOW:
        turn.say(turn.t("error.button_stale"))
        return
    turn.end()
    turn.say(turn.t("registers.cancelled"), edit=True)


BUTTONS = {
    AddRegisterEntry: add,
    RenewRegisterEntry: renew,
    OpenRegister: open_list,
    SkipRegisterPhoto: skip_photo,
    ChangeRegisterField: change,
    ConfirmRegisterEntry: confirm,
    CancelRegisterEntry: cancel,
}
