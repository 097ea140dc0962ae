"""Counts in words: Babel's plural rules per language, the same keys in both catalogues."""

from __future__ import annotations

import string

from handlers.i18n import plural_forms, translate_count


def test_both_languages_have_every_plural_entry_with_the_same_placeholders() -> None:
    chinese, english = plural_forms("zh_CN"), plural_forms("en")
    assert chinese and set(chinese) == set(english)
    for key in chinese:
        assert len(chinese[key]) == 1 and len(english[key]) == 2, key
        fields = {
            name
            for form in chinese[key] + english[key]
            for _, name, _, _ in string.Formatter().parse(form)
            if name
        }
        assert fields == {"count"}, key


def test_english_says_one_day_and_two_days() -> None:
    assert translate_count("en", "count.days_overdue", 1) == "1 day overdue"
    assert translate_count("en", "count.days_overdue", 2) == "2 days overdue"
    assert translate_count("en", "count.due_in_days", 1) == "in 1 day"
    assert translate_count("en", "count.days", 0) == "0 days"
    assert translate_count("zh_CN", "count.days_overdue", 1) == "已逾期1天"
