"""Strict validation of an imported row (``services.importing.order_request``), without a database."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain.errors import InvalidInput
from gongsheng.services.importing import check_columns, import_key, order_request
from gongsheng.services.ordering import MAX_ORDER_FEN

PARTIES = {"m": (10, "merchant"), "c": (20, "consumer")}
PERIOD = 3


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"external_order_id": "o-1", "merchant_external_id": "m",
                            "consumer_external_id": "c", "amount_fen": "100"}
    return {**base, **changes}


@given(st.integers(min_value=1, max_value=MAX_ORDER_FEN), st.booleans())
def test_an_integer_amount_in_range_is_taken_as_it_is(amount: int, as_text: bool) -> None:
    req = order_request(row(amount_fen=str(amount) if as_text else amount), PARTIES, PERIOD)
    assert (req.amount_fen, req.merchant_id, req.consumer_id) == (amount, 10, 20)
    assert req.idempotency_key == import_key("o-1") and req.voucher_fen == 0


@given(st.one_of(
    st.floats(allow_nan=True).map(str), st.floats(allow_nan=False), st.booleans(),
    st.integers(max_value=0), st.integers(max_value=0).map(str),
    st.integers(min_value=MAX_ORDER_FEN + 1),
    st.text().filter(lambda s: not s.strip().lstrip("-").isdigit() or s != s.strip()),
))
def test_anything_but_an_integer_amount_in_range_is_refused(amount: object) -> None:
    with pytest.raises(InvalidInput):
        order_request(row(amount_fen=amount), PARTIES, PERIOD)


@pytest.mark.parametrize(("changes", "message"), [
    ({"merchant_external_id": "c"}, "unknown merchant 'c'"),
    ({"consumer_external_id": "m"}, "unknown consumer 'm'"),
    ({"merchant_external_id": "nobody"}, "unknown merchant"),
    ({"external_order_id": ""}, "external_order_id is required"),
    ({"external_order_id": "has space"}, "visible ASCII"),
    ({"payment_ref": "x" * 129}, "payment_ref"),
    ({"period": "2"}, "not the open period 3"),
    ({"period": "3.0"}, "period must be an integer"),
    ({"__width__": 3}, "the row has 3 fields"),
])
def test_a_bad_row_is_refused_with_its_reason(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        order_request(row(**changes), PARTIES, PERIOD)


def test_the_open_period_and_empty_optional_cells_are_accepted() -> None:
    req = order_request(row(period="3", payment_ref="", device_id=None), PARTIES, PERIOD)
    assert (req.payment_ref, req.device_id) == (None, None)


def test_columns_must_be_known_and_complete() -> None:
    check_columns(["external_order_id", "merchant_external_id", "consumer_external_id",
                   "amount_fen", "paid_at"])
    with pytest.raises(InvalidInput, match="lacks the column"):
        check_columns(["external_order_id", "merchant_external_id", "consumer_external_id"])
    with pytest.raises(InvalidInput, match="unknown column"):
        check_columns(["external_order_id", "merchant_external_id", "consumer_external_id",
                       "amount_fen", "voucher_fen"])
