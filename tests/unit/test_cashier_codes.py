"""The consumer code a cashier types or scans: member number, optionally with a pay code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain import pay_codes as codes
from gongsheng.domain.errors import InvalidInput
from gongsheng.services.cashier import order_key, parse_code, qr_payload, shown_code

numbers = st.integers(min_value=1, max_value=10**15 - 1)
pay_codes = st.integers(min_value=0, max_value=(1 << codes.BITS) - 1).map(codes.encode)


@given(numbers, st.none() | pay_codes)
def test_what_the_page_shows_and_the_qr_holds_read_back(consumer: int, code: str | None) -> None:
    for text in (shown_code(consumer, code), qr_payload(consumer, code)):
        read = parse_code(text)
        assert read.consumer_id == consumer
        assert read.pay_code == (None if code is None else codes.normalise(code))


def test_typing_is_forgiving_and_garbage_is_refused() -> None:
    read = parse_code(" 42 7k3m-q9xd-2hwa ")
    assert read.consumer_id == 42 and read.pay_code == "7K3MQ9XD2HWA"
    for bad in ("", "abc", "42-123", "-42", "42:" + "Z" * 13, "gongsheng:pay:"):
        with pytest.raises(InvalidInput):
            parse_code(bad)


def test_form_keys_are_scoped_by_merchant() -> None:
    assert order_key(7, "k" * 10) != order_key(8, "k" * 10)
    for bad in ("", "with space in it", "k" * 151):
        with pytest.raises(InvalidInput):
            order_key(7, bad)
