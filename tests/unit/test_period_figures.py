"""The period figures have one definition: stored JSON, the API's schemas and the dataclass agree."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from gongsheng.domain.errors import InvariantViolation
from gongsheng.domain.figures import (
    PaidByRecipient,
    PaidParts,
    PeriodFigures,
    RegionCoverage,
    RiskFlag,
    share,
)
from gongsheng.domain.policy import Recipient
from gongsheng.entrypoints.api.schemas import ClosedPeriodOut, CloseOut, KpisOut

fen = st.integers(min_value=-(10**15), max_value=10**15)
count = st.integers(min_value=0, max_value=10**9)
ratio = st.none() | st.builds(share, count, st.integers(min_value=1, max_value=10**9))
names = st.text("abcdefghijklmnopqrstuvwxyz_:", min_size=1, max_size=12)
by_name = st.dictionaries(names, fen, max_size=4)

figures = st.builds(
    PeriodFigures,
    period=st.integers(min_value=1, max_value=10**6), controller=st.sampled_from(["budget", "forecast"]),
    nominal_periods=count, gmv_fen=fen, gmv_by_channel_fen=by_name, orders=count,
    average_order_fen=fen, registered_consumers=count, new_consumers=count, active_consumers=count,
    purchases_per_active_consumer=ratio, merchants=count, merchants_by_channel=by_name,
    regions=st.lists(st.builds(RegionCoverage, count, names, count, count, ratio), max_size=3).map(tuple),
    concession_fen=fen, platform_revenue_fen=fen, incentives_fen=by_name,
    paid_by_recipient_fen=st.none() | st.builds(PaidByRecipient, fen, fen, fen, fen, fen),
    pool_in_fen=fen, vacant_to_pool_fen=fen, vouchers_spent_fen=fen, refunds_fen=fen, payouts_fen=fen,
    released_fen=fen, unfunded_fen=fen, pool_available_fen=fen, pool_reserved_fen=fen,
    vouchers_outstanding_fen=fen, unreleased_entitlement_fen=fen,
    release_rate=st.just("0.025"), nominal_rate=st.just("0.025"),
    periods_to_complete_at_rate=st.none() | count, platform_share=ratio, users_share=ratio,
    risk_flags=st.lists(st.builds(RiskFlag, names, st.text(max_size=20)), max_size=3).map(tuple))


@given(figures)
def test_the_stored_json_reads_back_to_the_same_figures(f: PeriodFigures) -> None:
    assert PeriodFigures.from_json(json.loads(json.dumps(f.to_json()))) == f


@given(figures)
def test_the_api_serialises_the_figures_exactly_as_they_are_stored(f: PeriodFigures) -> None:
    served = TypeAdapter(PeriodFigures).dump_python(f, mode="json")
    assert served == f.to_json()
    assert TypeAdapter(PeriodFigures).validate_python(f.to_json()) == f


@given(figures)
def test_a_kpi_row_is_the_stored_figures_with_the_dates(f: PeriodFigures) -> None:
    row: dict[str, Any] = {"starts_on": "2026-01-01", "ends_on": "2026-01-31", **f.to_json()}
    out = KpisOut(periods=[row], open_period={}).model_dump(mode="json")
    assert out["periods"] == [row]


def _properties(model: type[Any], name: str) -> set[str]:
    schema = model.model_json_schema(mode="serialization")
    return set(schema["$defs"][name]["properties"])


def test_the_api_schemas_are_the_dataclass() -> None:
    names = {f.name for f in fields(PeriodFigures)}
    assert _properties(CloseOut, "PeriodFigures") == names
    assert _properties(KpisOut, "ClosedPeriodOut") == names | {"starts_on", "ends_on"}
    assert issubclass(ClosedPeriodOut, PeriodFigures)


def test_payments_have_one_field_per_recipient() -> None:
    assert {f.name for f in fields(PaidByRecipient)} == {r.value for r in Recipient}
    paid = PaidByRecipient(platform=5, region_partner=3, bound_bm=1)
    assert [paid.of(r) for r in Recipient] == [paid.as_dict()[r.value] for r in Recipient]
    assert paid.incentives_fen == 4


def test_payments_are_read_by_recipient_never_by_part_name() -> None:
    paid = PaidParts.from_counters({"part:platform_partner_dividend": 7, "to:region_partner": 7,
                                    "part:fee": 3, "to:platform": 3})
    assert (paid.by_recipient.platform, paid.by_recipient.region_partner) == (3, 7)


def test_unknown_or_missing_figures_are_refused() -> None:
    doc = PeriodFigures.from_json(_minimal()).to_json()
    with pytest.raises(InvariantViolation, match=r"unknown surprise$"):
        PeriodFigures.from_json({**doc, "surprise": 1})
    del doc["gmv_fen"]
    with pytest.raises(InvariantViolation, match=r"missing gmv_fen$"):
        PeriodFigures.from_json(doc)


def test_figures_stored_before_payments_by_recipient_read_as_none() -> None:
    f = PeriodFigures.from_json(_minimal())
    assert f.paid_by_recipient_fen is None and f.risk_flags == ()


def _minimal() -> dict[str, Any]:
    doc: dict[str, Any] = {f.name: 0 for f in fields(PeriodFigures)}
    doc.update(controller="budget", gmv_by_channel_fen={}, merchants_by_channel={}, regions=[],
               incentives_fen={}, release_rate="0", nominal_rate="0", purchases_per_active_consumer=None,
               platform_share=None, users_share=None)
    del doc["paid_by_recipient_fen"], doc["risk_flags"]
    return doc
