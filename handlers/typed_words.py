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
from handlers.turn import Turn
from handlers.usecases import reports as report_usecases
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


def new_report_payload() -> str:
    return f"{FLOW}:new"


def help_payload() -> str:
    return f"{FLOW}:help"


async def free_text(turn: Turn) -> None:
    """Answers text typed outside any step: opens a reference, else offers what it could be."""
    assert turn.person is not None
    reference = typed_reference(turn.event.text)
    if reference is not None:
        report = await report_by_reference(turn.session, turn.actor, reference)
        if report is None:
            turn.say(turn.t("error.not_found"))
            return
        await reports.view(turn, str(report.id))
        return
    if turn.person.role is Role.STAFF:
        await _offer_to_staff(turn)
        return
    if turn.event.text.strip():
        found = await search_reports(turn.session, turn.actor, turn.event.text, limit=1)
        if found:
            await browse.search(turn)
            return
    turn.say(
        turn.t("words.not_found_offer"),
        buttons=[[Button(turn.t("button.help"), help_payload())]],
    )


async def _offer_to_staff(turn: Turn) -> None:
    open_reports = [
        report
        for report in await report_usecases.reports_of_enterprise(
            turn.session, turn.actor, limit=10
        )
        if report.closed_at is None
    ][:OPEN_REPORTS_OFFERED]
    buttons = [[Button(turn.t("button.report_as_new"), new_report_payload())]]
    buttons += [
        [Button(turn.t("button.open_report", reference=r.reference), browse.view_payload(r))]
        for r in open_reports
    ]
    buttons.append([Button(turn.t("button.help"), help_payload())])
    turn.say(turn.t("words.staff_offer"), buttons=buttons)


async def report_as_new(turn: Turn, argument: str) -> None:
    """Starts a new report from the offer."""
    if turn.person is None or turn.person.role is not Role.STAFF:
        turn.say(turn.t("error.command_not_for_role", command="report"))
        return
    await report_problem.begin(turn)


async def show_help(turn: Turn, argument: str) -> None:
    """Shows help from a button."""
    await onboarding.show_help(turn)


BUTTONS = {"new": report_as_new, "help": show_help}
