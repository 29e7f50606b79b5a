"""The pay code's form: random bits to a typable code and back, its hash, its limit."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain import pay_codes as codes
from gongsheng.domain.errors import InvalidInput

NUMBERS = st.integers(min_value=0, max_value=(1 << codes.BITS) - 1)


@given(NUMBERS)
def test_a_code_holds_its_bits_and_reads_back_however_it_is_typed(number: int) -> None:
    code = codes.encode(number)
    assert len(code) == codes.LENGTH == 12 and codes.BITS == 60
    assert sum(codes.ALPHABET.index(ch) << (5 * i) for i, ch in enumerate(reversed(code))) == number
    shown = codes.display(code)
    assert shown.replace("-", "") == code and shown.count("-") == 2
    typed = " ".join(shown.lower().split("-")).replace("1", "l").replace("0", "o")
    assert codes.normalise(typed) == code
    assert codes.code_hash(typed) == hashlib.sha256(code.encode()).hexdigest()


@given(NUMBERS, NUMBERS)
def test_distinct_numbers_give_distinct_codes_and_hashes(a: int, b: int) -> None:
    assert (codes.encode(a) == codes.encode(b)) == (a == b)
    assert (codes.code_hash(codes.encode(a)) == codes.code_hash(codes.encode(b))) == (a == b)


def test_the_alphabet_is_crockford_base32() -> None:
    assert len(set(codes.ALPHABET)) == 32
    assert not set("ILOU") & set(codes.ALPHABET)


@pytest.mark.parametrize("bad", ["", "7K3M-Q9XD-2HW", "7K3M-Q9XD-2HWAA", "7K3M-Q9XD-2HWU",
                                 "7K3M Q9XD 2HW!", "x" * 100])
def test_a_malformed_code_is_bad_input(bad: str) -> None:
    with pytest.raises(InvalidInput, match="pay_code"):
        codes.normalise(bad)


@pytest.mark.parametrize("number", [-1, 1 << codes.BITS])
def test_encode_refuses_numbers_outside_its_bits(number: int) -> None:
    with pytest.raises(ValueError):
        codes.encode(number)


@pytest.mark.parametrize("bad", [0, -1, 101, True, False, "5", 5.0, None])
def test_a_limit_is_a_positive_integer_up_to_the_most(bad: object) -> None:
    with pytest.raises(InvalidInput, match="max_voucher_fen"):
        codes.check_limit(bad, 100)
    assert codes.check_limit(100, 100) == 100 and codes.check_limit(1, 100) == 1

