"""Lists that go on: a page of items, numbered, and a More button for the next page."""

from __future__ import annotations

from handlers.messages import Button
from handlers.payloads import ListKind, ShowMore
from handlers.turn import Turn

FLOW = ShowMore.FLOW
PAGE = 10


def numbered(lines: list[str], offset: int) -> str:
    return "\n".join(f"{offset + position}. {line}" for position, line in enumerate(lines, 1))


def page_title(turn: Turn, title: str, offset: int, shown: int) -> str:
    if offset == 0:
        return title
    return f"{title} · {turn.t('list.range', first=offset + 1, last=offset + shown)}"


def more_row(turn: Turn, kind: ListKind, offset: int, has_more: bool) -> list[list[Button]]:
    if not has_more:
        return []
    return [[Button(turn.t("button.more"), ShowMore(kind, offset + PAGE).pack())]]
