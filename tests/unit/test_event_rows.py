"""Outbox rows: a slotted body spliced around an id is the event's body with that id, exactly;
event ids are UUIDv7s that sort in the order they were drawn."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.adapters.event_store import (
    _SLOT_MARK,
    Recorded,
    add_events,
    body_parts,
    new_event_id,
)
from gongsheng.domain.events import Event, OrderPlaced, PayoutMade


def canonical(event: Event) -> str:
    """The stored body of an event: compact JSON, keys sorted."""
    return json.dumps(event.body(), separators=(",", ":"), sort_keys=True)


ids = st.integers(min_value=0, max_value=2**63 - 1)
texts = st.text(max_size=12)
allocations = st.lists(st.fixed_dictionaries({
    "part": texts, "recipient": texts, "party_id": st.none() | ids, "amount_fen": ids,
}), max_size=8).map(tuple)
orders = st.builds(
    OrderPlaced, period=st.integers(0, 10_000), order_id=ids, consumer_id=ids, merchant_id=ids,
    channel=texts, amount_fen=ids, voucher_fen=ids, concession_fen=ids, pool_fen=ids,
    consumer_cpts=ids, merchant_cpts=ids, referrer_id=st.none() | ids, referrer_cpts=ids,
    allocations=allocations)
payouts = st.builds(PayoutMade, period=st.integers(0, 10_000), payout_id=ids, party_id=ids,
                    amount_fen=ids, balance_after_fen=ids)


@given(orders, ids)
def test_an_order_s_body_spliced_around_its_id_is_its_body(event: OrderPlaced, order_id: int) -> None:
    head, tail = body_parts(Recorded(event, ("order_id", "key")))
    assert head + str(order_id) + tail == canonical(replace(event, order_id=order_id))
    assert body_parts(Recorded(event)) == (canonical(event), "")


@given(payouts, ids, st.sampled_from(["amount_fen", "balance_after_fen", "party_id", "payout_id"]))
def test_a_slot_may_be_the_first_or_the_last_key(event: PayoutMade, value: int, field: str) -> None:
    head, tail = body_parts(Recorded(event, (field, "key")))
    assert json.loads(head + str(value) + tail) == {**event.body(), field: value}
    assert head + str(value) + tail == canonical(replace(event, **{field: value}))


def test_a_slot_must_be_an_integer_field() -> None:
    event = PayoutMade(period=1, payout_id=1, party_id=2, amount_fen=3, balance_after_fen=4)
    with pytest.raises(TypeError, match="not an integer field"):
        body_parts(Recorded(replace(event, party_id="2"), ("party_id", "k")))  # type: ignore[arg-type]


def test_a_slotted_event_is_not_written_by_itself() -> None:
    event = PayoutMade(period=1, payout_id=1, party_id=2, amount_fen=3, balance_after_fen=4)
    with pytest.raises(ValueError, match="slotted"):
        add_events(None, [Recorded(event, ("payout_id", "k"))])  # type: ignore[arg-type]


def test_event_ids_are_uuid7s_in_the_order_they_were_drawn() -> None:
    drawn = []
    for _ in range(5):
        drawn.append(new_event_id())
        time.sleep(0.002)
    for event_id in drawn:
        assert re.fullmatch(r"evt_[0-9a-f]{32}", event_id)
        value = uuid.UUID(event_id.removeprefix("evt_"))
        assert value.version == 7 and value.variant == uuid.RFC_4122
        assert abs(int(event_id[4:16], 16) - time.time_ns() // 1_000_000) < 60_000  # ms timestamp
    assert drawn == sorted(drawn)
    assert len({new_event_id() for _ in range(10_000)}) == 10_000


def test_a_body_holding_the_slot_mark_s_text_elsewhere_is_cut_field_by_field() -> None:
    event = PayoutMade(period=1, payout_id=0, party_id=_SLOT_MARK, amount_fen=3,
                       balance_after_fen=_SLOT_MARK)
    head, tail = body_parts(Recorded(event, ("payout_id", "key")))
    assert head + "42" + tail == canonical(replace(event, payout_id=42))
