"""Replies rendered as Telegram messages: escaping, bold titles, splitting, keyboards."""

from __future__ import annotations

import pytest

from bot.telegram.rendering import MAX_TEXT, render, split_text, utf16_len
from handlers.messages import Button, Checklist, Option, Reply
from tests.fakes.fake_telegram import parse_html

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def shown(html_text: str) -> str:
    """What Telegram displays for our HTML (the fake's parser is Telegram's rules)."""
    return parse_html(html_text)[0]


class TestEscaping:
    def test_user_text_is_shown_exactly(self) -> None:
        text = "<b>&_*[]()!. </b> &amp; <a href='x'>y</a> &#60; `code`"
        [part] = render(Reply(text=text, title="<i>Title & co</i>"))
        assert shown(part.html) == "<i>Title & co</i>\n" + text
        assert parse_html(part.html)[1] == [
            {"type": "bold", "offset": 0, "length": utf16_len("<i>Title & co</i>")}
        ]

    def test_empty_text_still_makes_a_valid_message(self) -> None:
        [part] = render(Reply(text="  ", buttons=[[Button("OK", "x:y")]]))
        assert shown(part.html).strip()


class TestSplitting:
    def test_short_text_is_one_part(self) -> None:
        assert len(render(Reply(text="a\n" * 100))) == 1

    def test_long_text_splits_on_lines_and_keeps_the_keyboard_last(self) -> None:
        lines = [f"{i:04d} " + "😀" * 30 + " <&>" for i in range(200)]
        reply = Reply(text="\n".join(lines), title="Summary", buttons=[[Button("Go", "rp:go")]])
        parts = render(reply)
        assert len(parts) > 2
        texts = [shown(p.html) for p in parts]
        assert all(1 <= utf16_len(t) <= MAX_TEXT for t in texts)
        assert [p.keyboard is not None for p in parts] == [False] * (len(parts) - 1) + [True]
        assert texts[0].startswith("Summary\n")
        assert [t.rsplit("\n", 1)[1] for t in texts] == [
            f"({n}/{len(parts)})" for n in range(1, len(parts) + 1)
        ]
        body = "\n".join(t.rsplit("\n", 1)[0] for t in texts).removeprefix("Summary\n")
        assert body == reply.text  # nothing lost, every line whole

    def test_a_line_longer_than_a_message_is_cut_inside_without_breaking_a_surrogate(
        self,
    ) -> None:
        pieces = split_text("😀" * 5000, 4000, 4000)
        assert "".join(pieces) == "😀" * 5000
        assert all(utf16_len(p) <= 4000 for p in pieces)


class TestKeyboard:
    def test_checklist_marks_done_and_buttons(self) -> None:
        reply = Reply(
            text="Areas?",
            checklist=Checklist(
                [Option("Standards", "std", True), Option("Metrology", "met")],
                "rp:area:",
                Button("Done", "rp:areas"),
            ),
            buttons=[[Button("Cancel", "rp:cancel")]],
        )
        [part] = render(reply)
        assert part.keyboard is not None
        rows = [
            [(b["text"], b["callback_data"]) for b in row]
            for row in part.keyboard["inline_keyboard"]
        ]
        assert rows == [
            [("☑ Standards", "rp:area:std"), ("☐ Metrology", "rp:area:met")],
            [("Done", "rp:areas")],
            [("Cancel", "rp:cancel")],
        ]

    def test_a_payload_over_64_bytes_is_dropped_not_sent(self) -> None:
        [part] = render(Reply(text="x", buttons=[[Button("ok", "a:b"), Button("bad", "报" * 22)]]))
        assert part.keyboard is not None
        assert [b["callback_data"] for b in part.keyboard["inline_keyboard"][0]] == ["a:b"]
