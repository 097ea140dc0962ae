"""The one form in which report text is stored for search and searched for.

Chinese has no spaces, so search is by substring: both sides are folded the same way
(full-width to half-width, case, runs of spaces) and compared with LIKE '%…%'.
"""

from __future__ import annotations

import re
import unicodedata

MAX_QUERY = 100


def search_key(text: str) -> str:
    """Fold a typed query (or a stored text) for substring comparison."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", folded).strip()


def searchable(reference: str, product: str, description: str) -> str:
    """The stored search text of a report; the reference also without its dashes."""
    compact = reference.replace("-", "")
    return search_key(" \n".join((reference, compact, product, description)))
