"""The one form in which report text is stored for search and searched for.

Chinese has no spaces between words, so text is indexed by overlapping character pairs
(bigrams), as Lucene's CJK analyzer does: "主轴承" → "主轴 轴承 承" (each run of Chinese ends
with its last character alone). Other words are kept whole. A query folded the same way is a
substring of the folded text exactly when it occurs in the text (up to word boundaries for
Latin words and digits), so one stored column serves SQLite's FTS5 index (a phrase of tokens)
and a plain LIKE '%…%' on PostgreSQL alike.
"""

from __future__ import annotations

import unicodedata

MAX_QUERY = 100


def _is_cjk(char: str) -> bool:
    return char.isalpha() and ord(char) >= 0x2E80


def search_tokens(text: str) -> str:
    """Fold a text (or a query) into space-separated search tokens."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    tokens: list[str] = []
    run: list[str] = []
    word: list[str] = []

    def close_run() -> None:
        tokens.extend(a + b for a, b in zip(run, run[1:], strict=False))
        if run:
            tokens.append(run[-1])
        run.clear()

    def close_word() -> None:
        if word:
            tokens.append("".join(word))
        word.clear()

    for char in folded:
        if _is_cjk(char):
            close_word()
            run.append(char)
        elif char.isalnum():
            close_run()
            word.append(char)
        else:
            close_run()
            close_word()
    close_run()
    close_word()
    return " ".join(tokens)


def fold(text: str) -> str:
    """Fold a typed name for a plain substring comparison (enterprise names)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def searchable(reference: str, product: str, description: str) -> str:
    """The stored search text of a report; the reference also without its dashes."""
    compact = reference.replace("-", "")
    return search_tokens(" \n".join((reference, compact, product, description)))


def fts_phrase(query: str) -> str | None:
    """The FTS5 query for a typed text: its tokens as one phrase, the last one as a prefix."""
    tokens = search_tokens(query[:MAX_QUERY])
    if not tokens:
        return None
    return '"' + tokens.replace('"', '""') + '" *'
