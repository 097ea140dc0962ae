"""Typed words outside any step: words for commands, a report's reference, and an answer
for anything else that is never a dead end.

Inside a step that asks for text, the text is the answer: the dispatcher asks here only when
the chat is in no flow.
"""

from __future__ import annotations

import re

from domain.roles import Role
from handlers import browse, onboarding, report_problem, reports
from handlers.messages import Button
from handlers.payloads import HelpFromOffer, ReportAsNew, ViewReport
from handlers.turn import Turn
from handlers.usecases.search import report_by_reference, search_reports, typed_reference

FLOW = "tw"
OPEN_REPORTS_OFFERED = 3

# A word typed alone -> the command it stands for (SPEC §3 "Typed input").
WORDS = {
    "帮助": "help",
    "菜单": "help",
    "help": "help",
    "menu": "help",
    "报告问题": "report",
    "报告": "report",
    "反映问题": "report",
    "report": "report",
    "我的报告": "myreports",
    "进度": "myreports",
    "my reports": "myreports",
    "待办": "commitments",
    "承诺": "commitments",
    "commitments": "commitments",
    "协议": "agreement",
    "agreement": "agreement",
    "取消": "cancel",
    "退出": "cancel",
    "cancel": "cancel",
    "语言": "lang",
    "language": "lang",
    "待处理": "inbox",
    "inbox": "inbox",
}
# A word followed by its argument: "搜索 轴承", "查找轴承", "search bearing".
PREFIXES = {"搜索": "search", "查找": "search", "search ": "search"}
_TRAILING = re.compile(r"[\s。.!！?？~～]+$")


def command_word(text: str) -> tuple[str, str] | None:
    """The (command, argument) a typed text stands for, or None for ordinary text."""
    typed = _TRAILING.sub("", text.strip()).casefold()
    if typed in WORDS:
        return WORDS[typed], ""
    for prefix, command in PREFIXES.items():
        if typed.startswith(prefix) and typed[len(prefix) :].strip():
            argument = _TRAILING.sub("", text.strip())[len(prefix) :].strip()
            return command, argument
    return None




async def free_text(turn: Turn) -> None:
    """Answers text typed outside any step: opens a reference, else offers what it could be."""
    assert turn.person is not None
    reference = typed_reference(turn.event.text)
    if reference is not None:
        report = await report_by_reference(turn.session, turn.actor, reference)
        if report is None:
            turn.say(turn.t("error.not_found"))
            return
        await reports.view(turn, ViewReport(report.id))
        return
    if turn.person.role is Role.STAFF:
        # Text or files for one of their open reports (补充到 QP-…), else a new report.
        if not await reports.loose_input(turn):
            _offer_to_staff(turn)
        return
    if turn.event.file is not None:
        turn.say(turn.t("file.not_expected"))
        return
    if turn.event.text.strip():
        found = await search_reports(turn.session, turn.actor, turn.event.text, limit=1)
        if found:
            await browse.search(turn)
            return
    turn.say(
        turn.t("words.not_found_offer"),
        buttons=[[Button(turn.t("button.help"), HelpFromOffer().pack())]],
    )


def _offer_to_staff(turn: Turn) -> None:
    """Staff with no open report: report the text as a new problem, or read the help."""
    turn.say(turn.t("words.staff_offer"), buttons=offer_buttons(turn))


def offer_buttons(turn: Turn) -> list[list[Button]]:
    """作为新问题报告 / 帮助: offered under anything typed outside a step."""
    return [
        [Button(turn.t("button.report_as_new"), ReportAsNew().pack())],
        [Button(turn.t("button.help"), HelpFromOffer().pack())],
    ]


async def report_as_new(turn: Turn, _: ReportAsNew) -> None:
    """Starts a new report from the offer."""
    if turn.person is None or turn.person.role is not Role.STAFF:
        turn.say(turn.t("error.command_not_for_role", command="report"))
        return
    await report_problem.begin(turn)


async def show_help(turn: Turn, _: HelpFromOffer) -> None:
    """Shows help from a button."""
    await onboarding.show_help(turn)


BUTTONS = {ReportAsNew: report_as_new, HelpFromOffer: show_help}
