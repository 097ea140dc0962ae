"""How replies look on WeCom: text split at 2048 bytes, button and vote cards, shortening."""

from __future__ import annotations

from bot.wecom.rendering import render, shorten, split_text
from handlers.messages import Button, Checklist, Option, Reply


def test_text_is_split_on_utf8_boundaries_preferring_line_breaks() -> None:
    text = "\n".join(["质" * 300, "量" * 300, "帮" * 300])  # 900 bytes a line
    parts = split_text(text)
    assert parts == ["质" * 300 + "\n" + "量" * 300, "帮" * 300]

    one_line = "检" * 1000  # 3000 bytes, no break anywhere
    parts = split_text(one_line)
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts) == one_line

    mixed = ("a" * 2047) + "验" + "b"  # the 3-byte character would straddle the limit
    parts = split_text(mixed)
    assert parts[0] == "a" * 2047 and "".join(parts) == mixed
    assert split_text("short") == ["short"]


def test_shorten_marks_the_cut() -> None:
    assert shorten("短文本") == ("短文本", False)
    cut, was_cut = shorten("很" * 200)
    assert was_cut and len(cut) == 120 and cut.endswith("…")


def test_plain_text_reply_with_title() -> None:
    messages = render(Reply(text="正文", title="标题"))
    assert messages == [{"msgtype": "text", "text": {"content": "【标题】\n正文"}}]


def test_a_users_anchor_tag_is_not_rendered_as_a_link() -> None:
    [message] = render(Reply(text='看这里 <a href="http://evil.example">点我</a>'))
    assert "<a" not in message["text"]["content"]
    assert "点我" in message["text"]["content"]


def test_buttons_become_one_card_with_payloads_as_keys() -> None:
    reply = Reply(text="请选择", title="紧急程度", buttons=[[Button("一般", "rp:urg:normal")]])
    [message] = render(reply)
    card = message["template_card"]
    assert card["card_type"] == "button_interaction"
    assert card["main_title"] == {"title": "紧急程度"}
    assert card["sub_title_text"] == "请选择"
    assert card["button_list"] == [{"text": "一般", "style": 1, "key": "rp:urg:normal"}]


def test_more_than_six_buttons_become_several_cards_with_unique_task_ids() -> None:
    buttons = [[Button(f"QP-2026-{n:04d}", f"rep:view:{n}")] for n in range(1, 9)]
    messages = render(Reply(text="待处理", title="收件箱", buttons=buttons))
    cards = [m["template_card"] for m in messages]
    assert [len(c["button_list"]) for c in cards] == [6, 2]
    assert cards[0]["main_title"]["title"] == "收件箱 (1/2)"
    assert cards[1]["main_title"]["title"] == "收件箱 (2/2)"
    assert len({c["task_id"] for c in cards}) == 2
    keys = [b["key"] for c in cards for b in c["button_list"]]
    assert keys == [f"rep:view:{n}" for n in range(1, 9)]


def test_long_text_in_a_card_is_shortened_and_follows_in_full() -> None:
    text = "问题描述：" + "主轴温升过高。" * 40
    messages = render(Reply(text=text, title="汇总", buttons=[[Button("提交", "rp:submit")]]))
    card, *rest = messages
    assert card["template_card"]["sub_title_text"].endswith("…")
    assert len(card["template_card"]["sub_title_text"]) == 120
    assert [m["msgtype"] for m in rest] == ["text"]
    assert rest[0]["text"]["content"] == f"【汇总】\n{text}"


def test_checklist_is_one_vote_card_in_checkbox_mode() -> None:
    checklist = Checklist(
        options=[Option("标准", "std", True), Option("计量", "met")],
        toggle_prefix="rp:area:",
        done=Button("完成", "rp:areas"),
    )
    reply = Reply(text="可多选", title="报告问题", checklist=checklist)
    [message] = render(reply)
    card = message["template_card"]
    assert card["card_type"] == "vote_interaction"
    assert card["main_title"] == {"title": "报告问题", "desc": "可多选"}
    assert card["checkbox"]["mode"] == 1
    assert card["checkbox"]["option_list"] == [
        {"id": "std", "text": "标准", "is_checked": True},
        {"id": "met", "text": "计量", "is_checked": False},
    ]
    assert card["submit_button"] == {"text": "完成", "key": "rp:areas"}


def test_a_choice_too_long_for_a_vote_card_becomes_toggle_buttons() -> None:
    checklist = Checklist(
        options=[Option(f"选项{n}", f"o{n}") for n in range(25)],
        toggle_prefix="x:t:",
        done=Button("完成", "x:done"),
    )
    messages = render(Reply(text="选择", checklist=checklist))
    keys = [b["key"] for m in messages for b in m["template_card"]["button_list"]]
    assert keys[:2] == ["x:t:o0", "x:t:o1"] and "x:done" in keys
    assert all(m["template_card"]["card_type"] == "button_interaction" for m in messages)


def test_a_vote_card_without_title_keeps_every_line() -> None:
    checklist = Checklist([Option("标准", "std")], "rp:area:", Button("完成", "rp:areas"))
    [message] = render(Reply(text="请选择领域\n可多选", checklist=checklist))
    assert message["template_card"]["main_title"] == {"title": "请选择领域", "desc": "可多选"}
