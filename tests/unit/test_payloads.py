"""Typed button payloads: the wire form, the 64-byte limit and forged input."""

from __future__ import annotations

import dataclasses

import pytest

from domain.areas import ServiceArea
from domain.registers import RegisterKind
from domain.reports import Urgency
from handlers import dispatcher
from handlers.payloads import (
    MAX_ID,
    AcceptReport,
    AddRegisterEntry,
    ChangeAnswer,
    ChangeRegisterField,
    ChooseUrgency,
    ConfirmBinding,
    ConfirmWhen,
    EscalationListPage,
    EvaluationResultsPage,
    InvalidPayload,
    KeepBinding,
    ListKind,
    OpenRegister,
    OpenResearchTopic,
    OverdueOfEnterprise,
    OverdueOfOfficer,
    Payload,
    PickTime,
    RateReport,
    RenewRegisterEntry,
    RetypeWhen,
    RunCommand,
    ScoreCommitment,
    SetLanguage,
    ShowAgreement,
    ShowMore,
    SkipEvidence,
    StartEvaluation,
    ToggleArea,
    ViewReport,
    unpack,
)


class TestWireForm:
    @pytest.mark.parametrize(
        ("payload", "packed"),
        [
            (AcceptReport(17), "rep:acc:17"),
            (RateReport(17, 5), "rep:rate:17:5"),
            (ToggleArea(ServiceArea.STANDARDS), f"rp:area:{ServiceArea.STANDARDS.value}"),
            (ChooseUrgency(Urgency.URGENT), f"rp:urg:{Urgency.URGENT.value}"),
            (ChangeAnswer(), "rp:change"),
            (ChangeAnswer("product"), "rp:change:product"),
            (SkipEvidence(), "cm:skip"),
            (SetLanguage("en"), "lang:set:en"),
            # The wire forms of the flows typed later, exactly as their f-strings wrote them.
            (RunCommand("myreports"), "cmd:run:myreports"),
            (ConfirmBinding(), "bind:yes"),
            (KeepBinding(), "bind:no"),
            (ShowMore(ListKind.CLOSED, 0), "ls:more:closed:0"),
            (ShowMore(ListKind.COMMITMENTS, 20), "ls:more:cm:20"),
            (ConfirmWhen("202612031400"), "dt:ok:202612031400"),
            (RetypeWhen(), "dt:re"),
            (PickTime("0900"), "dt:at:0900"),
            (OverdueOfOfficer(7), "st:off:7"),
            (OverdueOfEnterprise(8), "st:ent:8"),
            (StartEvaluation(3), "ev:start:3"),
            (ScoreCommitment(11, 5), "ev:rate:11:5"),
            (EvaluationResultsPage(10), "ev:page:10"),
            (ShowAgreement(4), "cm:agr:4"),
            (AddRegisterEntry(RegisterKind.INSTRUMENT), "reg:add:instrument"),
            (RenewRegisterEntry(RegisterKind.CERTIFICATE, 9), "reg:upd:certificate.9"),
            (OpenRegister(RegisterKind.INSTRUMENT, 12), "reg:list:instrument.12"),
            (ChangeRegisterField(), "reg:edit"),
            (ChangeRegisterField("valid_until"), "reg:edit:valid_until"),
            (OpenResearchTopic(5), "rt:open:5"),
            (EscalationListPage(0), "esc:list:0"),
        ],
    )
    def test_packs_to_the_readable_form_and_back(self, payload: Payload, packed: str) -> None:
        assert payload.pack() == packed
        assert unpack(packed) == payload

    def test_the_largest_id_fits_in_64_bytes(self) -> None:
        assert unpack(RateReport(MAX_ID, 5).pack()) == RateReport(MAX_ID, 5)

    def test_a_payload_over_64_bytes_is_refused_when_built(self) -> None:
        with pytest.raises(ValueError, match="64 bytes"):
            SetLanguage("x" * 60).pack()

    def test_a_value_with_the_separator_is_refused_when_built(self) -> None:
        with pytest.raises(ValueError, match="cannot be packed"):
            SetLanguage("a:b").pack()

    def test_payloads_are_frozen(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            AcceptReport(1).report_id = 2  # type: ignore[misc]


class TestForgedPayloads:
    @pytest.mark.parametrize(
        "forged",
        [
            "rep:view:²",  # str.isdigit() accepts it; int() does not
            "rep:view:١٢",  # Arabic-Indic digits
            "rep:view:" + "9" * 20,
            f"rep:view:{MAX_ID + 1}",
            "rep:view:-1",
            "rep:view:+1",
            "rep:view: 1",
            "rep:view:",
            "rep:view",
            "rep:view:1:2",
            "rep:rate:1",
            "rep:rate:1:x",
            "rp:area:nonsense",
            "rp:urg:",
            "rp:submit:extra",
            "st:off:²",
            "st:off:" + "9" * 20,
            "ev:rate:1",
            "ls:more:nope:0",
            "ls:more:mine:-10",
            "reg:upd:instrument:5",  # the kind and the id are joined by "."
            "reg:upd:tractor.5",
            "reg:list:instrument.5.6",
            "esc:list:x",
            "cmd:run:",
            "bind:yes:1",
            "rep:nope:1",
            "nope:view:1",
            "",
            ":",
            "报" * 30,
        ],
    )
    def test_is_invalid_not_a_crash(self, forged: str) -> None:
        with pytest.raises(InvalidPayload):
            unpack(forged)


def test_every_payload_class_has_a_handler_in_its_flow() -> None:
    """The class that builds a button is the key that finds its handler."""
    handled = {cls for module in dispatcher.FLOWS.values() for cls in module.BUTTONS}
    for module_name, module in dispatcher.FLOWS.items():
        for cls in module.BUTTONS:
            assert module_name == cls.FLOW, f"{cls.__name__} is handled outside its flow"
    assert ViewReport in handled and SetLanguage in handled
    sent = {cls for cls in _all_payload_classes() if "STEP" in cls.__dict__}
    assert sent == handled


def _all_payload_classes() -> set[type[Payload]]:
    found: set[type[Payload]] = set()
    pending = list(Payload.__subclasses__())
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_ids_chosen_on_a_vote_card_are_read_like_payload_ids() -> None:
    """WeCom sends a multi-select's choices as plain strings: forged ones are dropped."""
    from handlers.payloads import selected_ids

    forged = ["3", "²", "99999999999999999999", "-1", "", "7", "0x10", "１"]
    assert selected_ids(forged) == [3, 7]
    assert selected_ids([str(n) for n in range(1, 80)]) == list(range(1, 51))
