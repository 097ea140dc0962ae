"""Unified social credit code (统一社会信用代码, GB 32100-2015) validation."""

from __future__ import annotations

import unicodedata
from typing import Final, Literal

__all__ = ["InvalidCreditCode", "Reason", "validate_credit_code"]

Reason = Literal["length", "charset", "check_digit", "org_check_digit"]

# GB 32100 code set: digits and capitals without I, O, Z, S, V; a character's value is its index.
_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE: Final = {c: i for i, c in enumerate(_CHARSET)}
# Weights 3^i mod 31 for the 17 payload characters (ISO 7064 MOD 31-3 style).
_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))

# GB 11714 organisation-code weights over its 8 body characters.
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)

# Registration authority (1st char) -> institution types (2nd char) it has been assigned.
# GB 32100 leaves the table to the authorities; this is the union of the published
# assignments (机构编制 1, 外交 2, 司法行政 3, 文化 4, 民政 5, 旅游 6, 宗教 7, 工会 8,
# 市场监管/工商 9, 中央军委改革和编制办 A, 公安 G, 住建 J, 农业农村 N, 侨联 Q, 其他 Y).
# A new assignment must be added here, or codes using it are rejected as "charset".
_TYPES_BY_AUTHORITY: Final[dict[str, str]] = {
    "1": "1239",
    "2": "19",
    "3": "1234569",
    "4": "19",
    "5": "123459",
    "6": "129",
    "7": "129",
    "8": "129",
    "9": "1239",
    "A": "19",
    "G": "19",
    "J": "19",
    "N": "1239",
    "Q": "1239",
    "Y": "1",
}


class InvalidCreditCode(ValueError):
    """A string that is not a valid unified social credit code."""

    def __init__(self, reason: Reason, detail: str) -> None:
        """Keep the machine-readable reason next to the human-readable detail."""
        super().__init__(detail)
        self.reason: Reason = reason


def _org_value(c: str) -> int:
    """Return a character's GB 11714 value (letters A=10 .. Z=35 over the full alphabet)."""
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def _org_check_char(body: str) -> str:
    """Return the GB 11714 check character for an 8-character organisation-code body."""
    c9 = 11 - sum(_org_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def _check_char(payload: str) -> str:
    """Return the GB 32100 18th character for a 17-character payload."""
    total = sum(_VALUE[c] * w for c, w in zip(payload, _WEIGHTS, strict=True))
    return _CHARSET[(31 - total % 31) % 31]


def validate_credit_code(raw: str) -> str:
    """Return the normalised code or raise InvalidCreditCode."""
    # NFKC folds full-width input from Chinese IMEs (９１３…) to ASCII before anything else.
    code = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    if len(code) != 18:
        raise InvalidCreditCode("length", f"expected 18 characters, got {len(code)}")
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        raise InvalidCreditCode("charset", f"characters not allowed: {''.join(bad)}")
    authority, kind, division = code[0], code[1], code[2:8]
    if authority not in _TYPES_BY_AUTHORITY:
        raise InvalidCreditCode("charset", f"unknown registration authority code {authority}")
    if kind not in _TYPES_BY_AUTHORITY[authority]:
        raise InvalidCreditCode("charset", f"unknown type {kind} for authority {authority}")
    if not division.isdigit():
        raise InvalidCreditCode("charset", "administrative division code must be 6 digits")
    # The overall check goes first: a typo anywhere shows up here.
    if code[17] != _check_char(code[:17]):
        raise InvalidCreditCode("check_digit", "check character (18th) does not match")
    if code[16] != _org_check_char(code[8:16]):
        raise InvalidCreditCode(
            "org_check_digit", "organisation code check character (17th) does not match"
        )
    return code
