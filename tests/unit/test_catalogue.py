"""The two catalogues: same keys, same placeholders, nothing empty."""

from __future__ import annotations

import string

from handlers.i18n import LANGUAGES, catalogue, normalise_language


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_every_key_with_the_same_placeholders() -> None:
    chinese, english = catalogue("zh_CN"), catalogue("en")
    assert set(chinese) == set(english)
    for key in chinese:
        assert _fields(chinese[key]) == _fields(english[key]), key
    assert all(catalogue(language)[k].strip() for language in LANGUAGES for k in chinese)


def test_platform_language_codes() -> None:
    assert normalise_language("zh-hans") == "zh_CN"
    assert normalise_language("en-US") == "en"
    assert normalise_language("ru") is None
    assert normalise_language(None) is None
