"""Typed button payloads: one frozen dataclass per kind of button press.

A payload reads `<flow>:<step>[:<field>…]` (`rep:acc:17` = reports flow, accept, report 17).
`FLOW` names the flow's module in `dispatcher.FLOWS`; that module's `BUTTONS` maps the class to
the function that handles it. Building a button and handling it use the same class, so the two
cannot drift apart. The wire form is unchanged from the f-string days: buttons already sitting in
people's chats and in the outbox keep working.

A payload comes back from a client that may have forged it: `unpack` accepts ids only as ASCII
digits within a 32-bit bound and enum fields only as their known values, and raises
`InvalidPayload` (shown as "button not valid") for anything else. Payloads carry no authority:
every handler loads the record and checks the person's role and scope.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from typing import Any, ClassVar, Self, get_type_hints

from domain.areas import ServiceArea
from domain.outcomes import Measure, Solved
from domain.registers import RegisterKind
from domain.reports import Urgency

SEP = ":"
# Telegram's callback_data limit; WeCom card keys are smaller than this in practice too.
MAX_BYTES = 64
MAX_ID = 2**31 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")


_REGISTRY: dict[str, type[Payload]] = {}


class InvalidPayload(ValueError):
    """The payload is not one this bot builds (unknown, malformed, forged)."""


@dataclasses.dataclass(frozen=True)
class Payload:
    """Base of every payload class: `FLOW` and `STEP` form its prefix."""

    FLOW: ClassVar[str]
    STEP: ClassVar[str]
    # Between the fields; "." where an older wire form joined two of them ("reg:upd:instrument.7").
    FIELD_SEP: ClassVar[str] = SEP

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "STEP" not in cls.__dict__:
            return  # a shared base such as ReportPayload, never sent itself
        prefix = cls.prefix()
        if prefix in _REGISTRY:
            raise RuntimeError(f"payload prefix {prefix!r} is used twice")
        _REGISTRY[prefix] = cls

    @classmethod
    def prefix(cls) -> str:
        return f"{cls.FLOW}{SEP}{cls.STEP}"

    def pack(self) -> str:
        """Return the wire form; refuse what would not survive the trip (a bug, not input)."""
        texts = []
        values = [getattr(self, f.name) for f in dataclasses.fields(self)]
        # A trailing field left at its empty default is not written ("rp:change").
        while values and values[-1] == "":
            values.pop()
        for value in values:
            text = str(value.value if isinstance(value, Enum) else value)
            if not text or SEP in text or self.FIELD_SEP in text:
                raise ValueError(f"{type(self).__name__}: field value {text!r} cannot be packed")
            texts.append(text)
        packed = self.prefix()
        if texts:
            packed += SEP + self.FIELD_SEP.join(texts)
        if len(packed.encode()) > MAX_BYTES:
            raise ValueError(f"{type(self).__name__}: payload {packed!r} exceeds {MAX_BYTES} bytes")
        return packed

    @classmethod
    def unpack(cls, payload: str) -> Self:
        """Read the wire form back, or raise InvalidPayload."""
        head = cls.prefix()
        if payload != head and not payload.startswith(head + SEP):
            raise InvalidPayload(f"not a {cls.__name__} payload")
        rest = payload[len(head) + 1 :]
        parts = rest.split(cls.FIELD_SEP) if rest else []
        fields, required = _fields_of(cls)
        if not required <= len(parts) <= len(fields):
            raise InvalidPayload(f"{cls.__name__}: wrong number of fields")
        values = {
            name: _read_field(kind, part) for (name, kind), part in zip(fields, parts, strict=False)
        }
        return cls(**values)


_FieldKinds = tuple[tuple[tuple[str, Any], ...], int]
_FIELD_KINDS: dict[type, _FieldKinds] = {}


def _fields_of(cls: type[Payload]) -> _FieldKinds:
    """A payload class's fields with their types, and how many are required: read once per
    class (resolving the annotations is most of an unpack's cost otherwise)."""
    known = _FIELD_KINDS.get(cls)
    if known is None:
        hints = get_type_hints(cls)
        fields = dataclasses.fields(cls)
        required = sum(1 for f in fields if f.default is dataclasses.MISSING)
        known = _FIELD_KINDS[cls] = tuple((f.name, hints[f.name]) for f in fields), required
    return known


def _read_field(kind: Any, text: str) -> Any:
    if kind is int:
        if not _ASCII_DIGITS.fullmatch(text) or int(text) > MAX_ID:
            raise InvalidPayload("not an id")
        return int(text)
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(text)
        except ValueError:
            raise InvalidPayload("not a known value") from None
    if not text:
        raise InvalidPayload("empty field")
    return text


def selected_ids(values: list[str], limit: int = 50) -> list[int]:
    """Ids chosen on a native multi-select (WeCom's vote card), read by the payloads' rule:
    anything but an ASCII id within bounds is dropped."""
    return [int(v) for v in values if _ASCII_DIGITS.fullmatch(v) and int(v) <= MAX_ID][:limit]


def unpack(payload: str) -> Payload:
    """Return the typed payload of a button press, or raise InvalidPayload."""
    if len(payload.encode()) > MAX_BYTES:
        raise InvalidPayload("too long")
    flow, _, rest = payload.partition(SEP)
    step = rest.partition(SEP)[0]
    cls = _REGISTRY.get(f"{flow}{SEP}{step}")
    if cls is None:
        raise InvalidPayload("unknown payload")
    return cls.unpack(payload)


# --- onboarding.py ("lang") -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SetLanguage(Payload):
    FLOW, STEP = "lang", "set"
    language: str


# --- dispatcher.py ("cmd"): the buttons of /help ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunCommand(Payload):
    """Runs the command as if typed, through the same role check."""

    FLOW, STEP = "cmd", "run"
    command: str


# --- binding.py ("bind"): confirming a change of binding --------------------------------------


@dataclasses.dataclass(frozen=True)
class ConfirmBinding(Payload):
    FLOW, STEP = "bind", "yes"


@dataclasses.dataclass(frozen=True)
class KeepBinding(Payload):
    FLOW, STEP = "bind", "no"


# --- report_problem.py ("rp"): the new-report form --------------------------------------------


@dataclasses.dataclass(frozen=True)
class ToggleArea(Payload):
    FLOW, STEP = "rp", "area"
    area: ServiceArea


@dataclasses.dataclass(frozen=True)
class AreasDone(Payload):
    FLOW, STEP = "rp", "areas"


@dataclasses.dataclass(frozen=True)
class FilesDone(Payload):
    FLOW, STEP = "rp", "files"


@dataclasses.dataclass(frozen=True)
class ChooseUrgency(Payload):
    FLOW, STEP = "rp", "urg"
    urgency: Urgency


@dataclasses.dataclass(frozen=True)
class ChangeAnswer(Payload):
    """Without a field: offer the answers to change; with one: reopen it."""

    FLOW, STEP = "rp", "change"
    field: str = ""


@dataclasses.dataclass(frozen=True)
class SubmitReport(Payload):
    FLOW, STEP = "rp", "submit"


@dataclasses.dataclass(frozen=True)
class CancelReport(Payload):
    FLOW, STEP = "rp", "cancel"


# --- reports.py ("rep"): a submitted report and its lifecycle ---------------------------------


@dataclasses.dataclass(frozen=True)
class ReportPayload(Payload):
    """A press on a button about one report."""

    report_id: int


@dataclasses.dataclass(frozen=True)
class ViewReport(ReportPayload):
    FLOW, STEP = "rep", "view"


@dataclasses.dataclass(frozen=True)
class AcceptReport(ReportPayload):
    FLOW, STEP = "rep", "acc"


@dataclasses.dataclass(frozen=True)
class ScheduleConsultation(ReportPayload):
    FLOW, STEP = "rep", "sch"


@dataclasses.dataclass(frozen=True)
class ProposeSolution(ReportPayload):
    FLOW, STEP = "rep", "pro"


@dataclasses.dataclass(frozen=True)
class MarkResolved(ReportPayload):
    FLOW, STEP = "rep", "res"


@dataclasses.dataclass(frozen=True)
class EscalateResearch(ReportPayload):
    FLOW, STEP = "rep", "esc"


@dataclasses.dataclass(frozen=True)
class ConfirmSolved(ReportPayload):
    FLOW, STEP = "rep", "ok"


@dataclasses.dataclass(frozen=True)
class RejectSolution(ReportPayload):
    FLOW, STEP = "rep", "no"


@dataclasses.dataclass(frozen=True)
class RateReport(ReportPayload):
    FLOW, STEP = "rep", "rate"
    stars: int


@dataclasses.dataclass(frozen=True)
class AddInformation(ReportPayload):
    """The enterprise adds text and files to its open report."""

    FLOW, STEP = "rep", "add"


@dataclasses.dataclass(frozen=True)
class AskQuestion(ReportPayload):
    FLOW, STEP = "rep", "ask"


@dataclasses.dataclass(frozen=True)
class AnswerQuestion(ReportPayload):
    FLOW, STEP = "rep", "ans"


@dataclasses.dataclass(frozen=True)
class AddNote(ReportPayload):
    """An internal note: bureau side only."""

    FLOW, STEP = "rep", "note"


@dataclasses.dataclass(frozen=True)
class SendPosted(ReportPayload):
    """Ends collecting text and files for an addition or an answer, and sends them."""

    FLOW, STEP = "rep", "post"


@dataclasses.dataclass(frozen=True)
class PostTo(ReportPayload):
    """Text or files sent outside any step go to the report chosen here."""

    FLOW, STEP = "rep", "to"


@dataclasses.dataclass(frozen=True)
class TransferReport(ReportPayload):
    """Offers the colleagues the report can be handed to."""

    FLOW, STEP = "rep", "xfer"


@dataclasses.dataclass(frozen=True)
class TransferTo(ReportPayload):
    """The colleague chosen; `scope` 0: ask what moves, 1: this report, 2: the enterprise's
    whole assignment (its future reports and open commitments)."""

    FLOW, STEP = "rep", "xto"
    officer_id: int
    scope: int = 0


@dataclasses.dataclass(frozen=True)
class SkipMessage(ReportPayload):
    FLOW, STEP = "rep", "skip"


@dataclasses.dataclass(frozen=True)
class ToggleParticipant(Payload):
    """Adds or removes one of the bureau's people from the consultation being scheduled."""

    FLOW, STEP = "rep", "pp"
    person_id: int


@dataclasses.dataclass(frozen=True)
class ParticipantsDone(Payload):
    FLOW, STEP = "rep", "ppok"


@dataclasses.dataclass(frozen=True)
class NoGuests(Payload):
    FLOW, STEP = "rep", "nog"


@dataclasses.dataclass(frozen=True)
class RecordConclusion(ReportPayload):
    """The officer records what the consultation concluded (text and files)."""

    FLOW, STEP = "rep", "ccl"


@dataclasses.dataclass(frozen=True)
class FormResearchTeam(ReportPayload):
    """The supervisor who received an escalation names the research lead and team."""

    FLOW, STEP = "rep", "team"


@dataclasses.dataclass(frozen=True)
class ResearchLead(ReportPayload):
    FLOW, STEP = "rep", "lead"
    person_id: int


@dataclasses.dataclass(frozen=True)
class ToggleTeamMember(Payload):
    FLOW, STEP = "rep", "tm"
    person_id: int


@dataclasses.dataclass(frozen=True)
class TeamDone(Payload):
    FLOW, STEP = "rep", "tmok"


@dataclasses.dataclass(frozen=True)
class ResearchProgress(ReportPayload):
    FLOW, STEP = "rep", "prog"


@dataclasses.dataclass(frozen=True)
class ConcludeResearch(ReportPayload):
    FLOW, STEP = "rep", "rcl"


@dataclasses.dataclass(frozen=True)
class NoComment(ReportPayload):
    FLOW, STEP = "rep", "nocm"


# --- commitments.py ("cm") --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MarkCommitmentDone(Payload):
    FLOW, STEP = "cm", "done"
    commitment_id: int


@dataclasses.dataclass(frozen=True)
class ConfirmCommitment(Payload):
    FLOW, STEP = "cm", "ok"
    commitment_id: int


@dataclasses.dataclass(frozen=True)
class SendBackCommitment(Payload):
    FLOW, STEP = "cm", "back"
    commitment_id: int


@dataclasses.dataclass(frozen=True)
class SkipEvidence(Payload):
    FLOW, STEP = "cm", "skip"


@dataclasses.dataclass(frozen=True)
class ShowAgreement(Payload):
    FLOW, STEP = "cm", "agr"
    enterprise_id: int


# --- profile.py ("pf") ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KeepName(Payload):
    FLOW, STEP = "pf", "keep"


@dataclasses.dataclass(frozen=True)
class SkipPhone(Payload):
    FLOW, STEP = "pf", "skip"


# --- typed_words.py ("tw"): text typed outside any step ---------------------------------------


@dataclasses.dataclass(frozen=True)
class ReportAsNew(Payload):
    FLOW, STEP = "tw", "new"


@dataclasses.dataclass(frozen=True)
class HelpFromOffer(Payload):
    FLOW, STEP = "tw", "help"


# --- browse.py ("ls"): lists paged through (handlers/paging.py builds the button) -------------


class ListKind(Enum):
    MINE = "mine"
    INBOX = "inbox"
    CLOSED = "closed"
    SEARCH = "search"
    COMMITMENTS = "cm"


@dataclasses.dataclass(frozen=True)
class ShowMore(Payload):
    """The page of the list starting at `offset`; offset 0 of CLOSED is the inbox's filter."""

    FLOW, STEP = "ls", "more"
    kind: ListKind
    offset: int


# --- date_input.py ("dt"): a date or time read from text --------------------------------------


@dataclasses.dataclass(frozen=True)
class ConfirmWhen(Payload):
    """The reading echoed back; `digits` are its digits, matched against the pending one."""

    FLOW, STEP = "dt", "ok"
    digits: str


@dataclasses.dataclass(frozen=True)
class RetypeWhen(Payload):
    FLOW, STEP = "dt", "re"


@dataclasses.dataclass(frozen=True)
class PickTime(Payload):
    """A quick time for the chosen day, as "0900"."""

    FLOW, STEP = "dt", "at"
    hhmm: str


@dataclasses.dataclass(frozen=True)
class OtherTime(Payload):
    FLOW, STEP = "dt", "other"


# --- statistics.py ("st"): the 督办 board -----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OverdueOfOfficer(Payload):
    FLOW, STEP = "st", "off"
    officer_id: int


@dataclasses.dataclass(frozen=True)
class OverdueOfEnterprise(Payload):
    FLOW, STEP = "st", "ent"
    enterprise_id: int


# --- evaluation.py ("ev"): the agreement's evaluation (agreement_views.py builds them) ---------


@dataclasses.dataclass(frozen=True)
class StartEvaluation(Payload):
    FLOW, STEP = "ev", "start"
    agreement_id: int


@dataclasses.dataclass(frozen=True)
class ScoreCommitment(Payload):
    FLOW, STEP = "ev", "rate"
    commitment_id: int
    score: int


@dataclasses.dataclass(frozen=True)
class SubmitWithoutComment(Payload):
    FLOW, STEP = "ev", "skip"
    agreement_id: int


@dataclasses.dataclass(frozen=True)
class ShowEvaluationResult(Payload):
    FLOW, STEP = "ev", "view"
    agreement_id: int


@dataclasses.dataclass(frozen=True)
class EvaluationResultsPage(Payload):
    FLOW, STEP = "ev", "page"
    offset: int


# --- registers.py ("reg"): instruments and certificates (register_views.py builds them) --------


@dataclasses.dataclass(frozen=True)
class AddRegisterEntry(Payload):
    FLOW, STEP = "reg", "add"
    kind: RegisterKind


@dataclasses.dataclass(frozen=True)
class RenewRegisterEntry(Payload):
    FLOW, STEP = "reg", "upd"
    FIELD_SEP = "."
    kind: RegisterKind
    entry_id: int


@dataclasses.dataclass(frozen=True)
class OpenRegister(Payload):
    """One enterprise's register, opened by an officer from the counts or a reminder."""

    FLOW, STEP = "reg", "list"
    FIELD_SEP = "."
    kind: RegisterKind
    enterprise_id: int


@dataclasses.dataclass(frozen=True)
class SkipRegisterPhoto(Payload):
    FLOW, STEP = "reg", "skip"


@dataclasses.dataclass(frozen=True)
class ChangeRegisterField(Payload):
    """Without a field: offer the fields to correct; with one: ask for it."""

    FLOW, STEP = "reg", "edit"
    field: str = ""


@dataclasses.dataclass(frozen=True)
class ConfirmRegisterEntry(Payload):
    FLOW, STEP = "reg", "ok"


@dataclasses.dataclass(frozen=True)
class CancelRegisterEntry(Payload):
    FLOW, STEP = "reg", "cancel"


# --- research.py ("rt"): research topics on common problems -----------------------------------


@dataclasses.dataclass(frozen=True)
class OpenResearchTopic(Payload):
    FLOW, STEP = "rt", "open"
    topic_id: int


# --- escalations.py ("esc"): the 督办 list (reminder_views.py builds it) ----------------------


@dataclasses.dataclass(frozen=True)
class EscalationListPage(Payload):
    FLOW, STEP = "esc", "list"
    page: int


# --- outcome.py ("oc"): 帮扶成效, what the assistance on a closed report achieved ------------


@dataclasses.dataclass(frozen=True)
class RecordOutcome(ReportPayload):
    """The officer starts recording (or records again) the outcome of a closed report."""

    FLOW, STEP = "oc", "rec"


@dataclasses.dataclass(frozen=True)
class OutcomeSolved(ReportPayload):
    FLOW, STEP = "oc", "sol"
    solved: Solved


@dataclasses.dataclass(frozen=True)
class ToggleMeasure(Payload):
    FLOW, STEP = "oc", "ms"
    measure: Measure


@dataclasses.dataclass(frozen=True)
class MeasuresDone(Payload):
    FLOW, STEP = "oc", "msok"


@dataclasses.dataclass(frozen=True)
class SkipEconomic(Payload):
    FLOW, STEP = "oc", "noeco"


@dataclasses.dataclass(frozen=True)
class SkipOutcomeNote(Payload):
    FLOW, STEP = "oc", "nonote"


@dataclasses.dataclass(frozen=True)
class ConfirmOutcome(ReportPayload):
    """The enterprise agrees with the outcome the officer recorded."""

    FLOW, STEP = "oc", "ok"


@dataclasses.dataclass(frozen=True)
class CorrectOutcome(ReportPayload):
    """The enterprise disagrees and is asked for its own words."""

    FLOW, STEP = "oc", "fix"
