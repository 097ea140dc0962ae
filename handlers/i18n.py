"""User-facing text: one gettext catalogue per language, keyed by message id."""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"


@cache
def catalogue(language: str) -> dict[str, str]:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "qabot.po").open("rb") as po:
        messages = read_po(po, locale=language)
    # Entries with plural forms are read through plural_forms() / translate_count().
    return {
        str(m.id): str(m.string) for m in messages if isinstance(m.id, str) and m.id and m.string
    }


@cache
def _compiled(language: str) -> Translations:
    """The catalogue compiled in memory, for Babel's ngettext and the language's plural rule."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "qabot.po").open("rb") as po:
        messages = read_po(po, locale=language)
    compiled = BytesIO()
    # The header entry is marked fuzzy by pybabel init; it carries Plural-Forms.
    write_mo(compiled, messages, use_fuzzy=True)
    compiled.seek(0)
    return Translations(compiled)


@cache
def plural_forms(language: str) -> dict[str, tuple[str, ...]]:
    """Every entry with plural forms: its key and its translated forms."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "qabot.po").open("rb") as po:
        messages = read_po(po, locale=language)
    return {
        str(m.id[0]): tuple(str(form) for form in m.string)
        for m in messages
        if isinstance(m.id, tuple) and m.id[0] and isinstance(m.string, tuple | list)
    }


def normalise_language(code: str | None) -> str | None:
    """Map a platform language code ("zh-hans", "en-US") to one we have, or None."""
    if not code:
        return None
    code = code.replace("-", "_").lower()
    if code.startswith("zh"):
        return "zh_CN"
    if code.startswith("en"):
        return "en"
    return None


def translate(language: str, key: str, **params: Any) -> str:
    """Return the text for `key`; a missing key falls back to Chinese, then to the key."""
    text = catalogue(language).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or key
    return text.format(**params) if params else text


def translate_count(language: str, key: str, count: int, **params: Any) -> str:
    """Return the text for `key` in the form `count` needs ("1 day overdue", "2 days …")."""
    if key not in plural_forms(language):
        language = DEFAULT_LANGUAGE
    text = _compiled(language).ngettext(key, key + ".plural", count)
    return text.format(count=count, **params)
