"""GB/T 4754 national industry classification codes (国民经济行业分类) of enterprises."""

from __future__ import annotations

import re

# A section letter (A–T), then 2 (division), 3 (group) or 4 (class) digits: C, C34, C344, C3443.
_CODE = re.compile(r"^[A-T](\d{2}|\d{3}|\d{4})?$")


def parse_industry_code(text: str) -> str | None:
    """The code in canonical form ("c3443" → "C3443"), or None when it is not one."""
    code = text.strip().upper()
    return code if _CODE.match(code) else None
