"""Tests for unified social credit code validation."""

from __future__ import annotations

import pytest

from domain.credit_code import InvalidCreditCode, validate_credit_code

# Real codes found in public material; both check characters were verified by hand
# arithmetic, independently of the code under test.
REAL_CODES = [
    "91110000600037341L",  # python-stdnum's documented example
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
    "91310115MA1K427762",  # 享道出行（上海）科技股份有限公司, new-style MA subject code
    "12100000470095016Q",  # 浙江大学 (事业单位, authority 1)
    "12100000425006117P",  # 复旦大学
    "53100000500019795A",  # a foundation registered with 民政部 (authority 5, type 3)
    "51310110501144395U",  # a social organisation, 上海市杨浦区民政局
    "92230109MAKCUYD46K",  # an individual business (个体工商户, type 2)
    "12440600MB2C07549J",  # 事业单位 with a letter-heavy subject code
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code) == code


def test_normalises_case_and_spaces() -> None:
    assert validate_credit_code(" 9131 0115 ma1k 427762 ") == "91310115MA1K427762"
    assert validate_credit_code("91110000600037341l") == "91110000600037341L"
    assert validate_credit_code("9111 0000\t6000 3734\n1L") == "91110000600037341L"


def test_normalises_full_width_input() -> None:
    assert validate_credit_code("９１１１００００６０００３７３４１Ｌ") == "91110000600037341L"
    assert validate_credit_code("91110000\u3000600037341L") == "91110000600037341L"


def _reason(raw: str) -> str:
    with pytest.raises(InvalidCreditCode) as info:
        validate_credit_code(raw)
    assert isinstance(info.value, ValueError)
    assert str(info.value)
    return info.value.reason


@pytest.mark.parametrize("raw", ["", "   ", "9111000060003734", "91110000600037341LX"])
def test_length(raw: str) -> None:
    assert _reason(raw) == "length"


@pytest.mark.parametrize(
    "raw",
    [
        "9111000060003734IL",  # I is not in the code set
        "91110000600037341O",  # nor is O
        "9111000060003734-L",
        "B1110000600037341J",  # unknown registration authority (check char is right)
        "94110000600037341B",  # type 4 is not assigned under authority 9 (check char is right)
        "911100A0600037341F",  # division code must be digits (check char is right)
    ],
)
def test_charset(raw: str) -> None:
    assert _reason(raw) == "charset"


@pytest.mark.parametrize(
    "raw",
    [
        "91110000600037341M",  # last character changed
        "91110000600037314L",  # two characters transposed
        "91310000MA1FL5LL2C",  # an often-quoted made-up example
        "91350203M0001FUE2P",  # see the module report: some pre-2016 Xiamen codes fail here
    ],
)
def test_check_digit(raw: str) -> None:
    assert _reason(raw) == "check_digit"


@pytest.mark.parametrize(
    "raw",
    [
        # Real codes with the organisation-code check character changed and the
        # 18th character recomputed, so only the GB 11714 check can catch them.
        "91110000600037342P",
        "91440300MA5H0HLK6Y",
    ],
)
def test_org_check_digit(raw: str) -> None:
    assert _reason(raw) == "org_check_digit"
