"""policy: the default policy loads with MODEL.md's figures; invalid or unlawful policies are refused."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from gongsheng.adapters.policy_file import default_policy_text
from gongsheng.domain.errors import InfeasibleSplit, InvalidInput, PolicyError
from gongsheng.domain.policy import (
    Base,
    Controller,
    PeriodUnit,
    Policy,
    Recipient,
    policy_from_mapping,
)

from .rounding_reference import brute_first_excess, search_bound

D = Decimal


# --- the default policy ------------------------------------------------------------------------


def test_default_policy_has_the_models_figures(policy: Policy) -> None:
    assert policy.name == "default"
    assert (policy.min_rate, policy.max_rate) == (D("0.03"), D("0.20"))
    assert policy.rate_for_category("catering") == D("0.15")
    assert policy.rate_for_category("bookshop") == D("0.10")
    assert policy.points_per_yuan == D(1)
    assert policy.consumer_cap_multiple == D(5)
    assert policy.merchant_cap_multiple == D("2.25")
    assert policy.referral.enabled
    assert policy.referral.rate == D("0.05")
    assert policy.referral.levels == 1
    assert policy.vouchers.max_share_at_merchant == D(1)
    assert policy.vouchers.max_share_at_mall == D("0.5")
    assert policy.vouchers.mall_cost_share == D("0.6")
    assert policy.release.period is PeriodUnit.MONTH
    assert policy.release.controller is Controller.BUDGET
    assert policy.release.nominal_periods == 40
    assert policy.release.schedule == ((D("0.15"), 36),)
    assert policy.release.holder_spend_cap_multiple is None  # anti-farming valve: off by default
    assert policy.withdrawal_threshold_fen == 100 * 100
    assert policy.coverage_warning == D("0.8")


def test_default_waterfall_is_the_models_table(policy: Policy) -> None:
    parts = {p.name: p for p in policy.waterfall}
    assert [p.recipient for p in policy.waterfall] == [
        Recipient.PLATFORM,
        Recipient.REGION_PARTNER,
        Recipient.SIGNING_PROMOTER,
        Recipient.BOUND_BM,
        Recipient.HOME_MERCHANT,
    ]
    assert parts["platform_fee"].rate == D("0.20")
    assert parts["partner_dividend"].rate == D("0.15")
    assert parts["ground_commission"].rate == D("0.10")
    assert parts["acquisition_reward"].rate == D("0.05")
    bm = policy.contract_part
    assert bm is not None and bm is parts["bm_commission"]
    assert bm.base is Base.ORDER and bm.is_contract
    assert (bm.min_rate, bm.max_rate) == (D("0.01"), D("0.03"))
    # everything but the BM commission is a share of the concession
    assert all(p.base is Base.CONCESSION for p in policy.waterfall if p is not bm)


def test_platform_takes_20_percent_so_users_get_80(policy: Policy) -> None:
    platform = sum((p.rate or D(0)) for p in policy.waterfall if p.recipient is Recipient.PLATFORM)
    assert platform == D("0.20")


def test_allowed_rates_are_every_whole_percent(policy: Policy) -> None:
    assert policy.allowed_rates() == [D(n) / 100 for n in range(3, 21)]


def test_allowed_rates_include_an_off_grid_maximum(policy_data: dict[str, Any]) -> None:
    policy_data["concession"]["min_rate"] = "0.035"
    policy_data["concession"]["max_rate"] = "0.058"
    policy_data["concession"]["default_rate"] = "0.04"
    policy_data["concession"]["category_rates"] = {}
    assert policy_from_mapping(policy_data).allowed_rates() == [D("0.035"), D("0.045"), D("0.055"),
                                                                D("0.058")]


def test_digest_depends_on_content_only(policy_data: dict[str, Any]) -> None:
    a = policy_from_mapping(policy_data)
    b = policy_from_mapping(copy.deepcopy(policy_data))
    assert a.digest == b.digest
    policy_data["payouts"]["withdrawal_threshold_fen"] = 20000
    assert policy_from_mapping(policy_data).digest != a.digest


def test_percent_strings_are_accepted(policy_data: dict[str, Any]) -> None:
    policy_data["concession"]["category_rates"]["catering"] = "15%"
    assert policy_from_mapping(policy_data).rate_for_category("catering") == D("0.15")


# --- refusals -------------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *head, last = path.split(".")
        node: Any = data
        for key in head:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _add_part(**part: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["waterfall"].append(part)

    return mutate


def _drop(section: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del data[section]

    return mutate


# waterfall indexes in default.toml: 0 platform_fee, 1 partner_dividend, 2 ground_commission,
# 3 bm_commission, 4 acquisition_reward
REFUSALS: list[tuple[str, Mutation, tuple[str, ...]]] = [
    ("referral two levels", _set("referral.levels", 2), ("referral.levels", "multi-level")),
    ("referrer of referrer", _set("waterfall.4.recipient", "referrer_of_referrer"),
     ("acquisition_reward", "multi-level")),
    ("upline", _set("waterfall.2.recipient", "upline"), ("ground_commission", "multi-level")),
    ("part with two levels", _set("waterfall.1.levels", 2), ("partner_dividend", "multi-level")),
    ("cashable points", _set("points.cashable", True), ("points", "cashable")),
    ("transferable points", _set("points.transferable", True), ("points", "transferable")),
    ("transferable vouchers", _set("vouchers.transferable", True), ("vouchers", "transferable")),
    ("cashable vouchers", _set("vouchers.cashable", True), ("vouchers", "cashable")),
    ("consumer join fee", _set("compliance.consumer_join_fee_fen", 9900), ("fee", "join")),
    ("float concession rate", _set("concession.min_rate", 0.03),
     ("concession.min_rate", "quoted decimal string")),
    ("float waterfall rate", _set("waterfall.0.rate", 0.2), ("platform_fee", "quoted decimal string")),
    ("float category rate", _set("concession.category_rates.catering", 0.15), ("catering",)),
    ("float referral rate", _set("referral.rate", 0.05), ("referral.rate",)),
    ("category rate above the bounds", _set("concession.category_rates.catering", "0.25"),
     ("catering", "0.25", "outside")),
    ("category rate below the bounds", _set("concession.category_rates.catering", "0.02"),
     ("catering", "0.02", "outside")),
    ("default rate outside", _set("concession.default_rate", "0.5"), ("default_rate", "outside")),
    ("bounds reversed", _set("concession.min_rate", "0.3"), ("min_rate",)),
    ("negative rate", _set("waterfall.0.rate", "-0.1"), ("platform_fee", "negative")),
    ("rate above one", _set("waterfall.0.rate", "1.5"), ("platform_fee", "exceeds 1")),
    ("not a number", _set("waterfall.0.rate", "twenty"), ("platform_fee",)),
    ("unknown recipient", _set("waterfall.0.recipient", "nobody"), ("recipient", "nobody")),
    ("unknown base", _set("waterfall.0.base", "profit"), ("base", "profit")),
    ("duplicate part names", _set("waterfall.1.name", "platform_fee"), ("unique",)),
    ("two contract parts", _add_part(name="bm2", recipient="bound_bm", base="order", rate="contract",
                                     min_rate="0.01", max_rate="0.02"), ("contract",)),
    ("contract bounds reversed", _set("waterfall.3.min_rate", "0.05"), ("bm_commission", "contract")),
    ("voucher share above one", _set("vouchers.max_share_at_mall", "1.5"), ("voucher",)),
    ("unknown controller", _set("release.controller", "ponzi"), ("release.controller",)),
    ("unknown period", _set("release.period", "year"), ("release.period",)),
    ("zero periods", _set("release.nominal_periods", 0), ("nominal_periods",)),
    ("smoothing zero", _set("release.smoothing", "0"), ("smoothing",)),
    ("missing section", _drop("points"), ("[points]",)),
    ("missing rate", _drop("concession"), ("[concession]",)),
]


@pytest.mark.parametrize(("mutate", "words"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_policy_refuses(policy_data: dict[str, Any], mutate: Mutation, words: tuple[str, ...]) -> None:
    mutate(policy_data)
    with pytest.raises(PolicyError) as info:
        policy_from_mapping(policy_data)
    assert isinstance(info.value, InvalidInput)
    for word in words:
        assert word in str(info.value)


def test_policy_refuses_parts_above_the_concession_naming_the_rate(policy_data: dict[str, Any]) -> None:
    # 50% of C in fixed parts plus 2% of G: 0.5 + 0.02/r > 1 exactly when r < 4%
    policy_data["waterfall"].append(
        {"name": "loyalty", "recipient": "platform", "base": "order", "rate": "0.02"}
    )
    with pytest.raises(InfeasibleSplit) as info:
        policy_from_mapping(policy_data)
    assert "0.03" in str(info.value)
    assert "loyalty" in str(info.value)
    # at exactly 4% the exact pool is 0 and rounding half up overshoots: G = 125 concedes C = 5,
    # the parts are 1 (20%) + 1 (15% of 5 = 0.75) + 1 (0.5) + 0 (0.25) + 3 (2% of 125 = 2.5) = 6
    policy_data["concession"]["min_rate"] = "0.04"
    with pytest.raises(InfeasibleSplit, match=r"0\.04.* 125 fen"):
        policy_from_mapping(policy_data)
    # from 5% up the same parts fit at every amount: the policy loads
    policy_data["concession"]["min_rate"] = "0.05"
    assert policy_from_mapping(policy_data).min_rate == D("0.05")


def test_policy_refuses_concession_parts_above_all_of_it(policy_data: dict[str, Any]) -> None:
    policy_data["waterfall"][0]["rate"] = "0.71"  # 0.71 + 0.15 + 0.10 + 0.05 = 1.01 of C
    with pytest.raises(InfeasibleSplit, match=r"0\.03"):
        policy_from_mapping(policy_data)


def test_policy_refuses_fixed_parts_of_exactly_all_of_it(policy_data: dict[str, Any]) -> None:
    # 0.70 + 0.15 + 0.10 + 0.05 = 1 exactly, but at C = 10 the parts round to 7 + 2 + 1 + 1 = 11
    policy_data["waterfall"][0]["rate"] = "0.70"
    with pytest.raises(InfeasibleSplit, match="rounded half up"):
        policy_from_mapping(policy_data)


def test_policy_accepts_a_single_level_referral_and_disabled_referral(
    policy_data: dict[str, Any],
) -> None:
    policy_data["referral"]["levels"] = 1
    policy_data["referral"]["enabled"] = False
    assert not policy_from_mapping(policy_data).referral.enabled


# --- merchant contracts ----------------------------------------------------------------------


def test_check_contract_refuses_3_percent_bm_at_3_percent_concession(policy: Policy) -> None:
    with pytest.raises(InfeasibleSplit) as info:
        policy.check_contract(D("0.03"), D("0.03"))
    assert "0.03" in str(info.value)


def test_check_contract_accepts_the_worked_example(policy: Policy) -> None:
    policy.check_contract(D("0.20"), D("0.01"))
    # 20% + 15% + 10% + 5% of C, and 1% of G = 5% of C at r = 20%
    assert policy.named_share(D("0.20"), D("0.01")) == D("0.55")


@pytest.mark.parametrize(("rate", "contract"), [(D("0.02"), D("0.01")), (D("0.21"), D("0.01"))])
def test_check_contract_refuses_a_concession_rate_outside_the_bounds(
    policy: Policy, rate: Decimal, contract: Decimal
) -> None:
    with pytest.raises(InvalidInput, match="outside"):
        policy.check_contract(rate, contract)


@pytest.mark.parametrize("contract", [D("0.005"), D("0.031")])
def test_check_contract_refuses_a_bm_rate_outside_its_bounds(policy: Policy, contract: Decimal) -> None:
    with pytest.raises(InvalidInput, match="bm_commission"):
        policy.check_contract(D("0.20"), contract)


@pytest.mark.parametrize(("rate", "contract", "amount"), [
    ("0.06", "0.03", 84),      # exactly half the concession rate: fails on about a quarter of amounts
    ("0.03", "0.015", 167),
    ("0.04", "0.02", 125),
    ("0.0333", "0.015", 300),  # the exact pool is positive: fails only on small amounts
    ("0.0607", "0.03", 84),
])
def test_check_contract_refuses_contracts_whose_rounded_parts_overpay(
    policy: Policy, rate: str, contract: str, amount: int
) -> None:
    assert policy.named_share(D(rate), D(contract)) <= 1  # the exact shares fit...
    with pytest.raises(InfeasibleSplit, match=f"order of {amount} fen") as info:
        policy.check_contract(D(rate), D(contract))  # ...the rounded ones do not
    assert rate in str(info.value)
    conc, order = policy.shares(D(rate), D(contract))
    assert brute_first_excess(Fraction(D(rate)), conc, order, amount + 1) == amount


@given(rate_bp=st.integers(300, 2000), contract_bp=st.integers(100, 300), half=st.booleans())
@settings(max_examples=150, deadline=None)
@example(rate_bp=600, contract_bp=300, half=False)
@example(rate_bp=333, contract_bp=150, half=False)
@example(rate_bp=607, contract_bp=300, half=False)
def test_check_contract_refuses_exactly_the_contracts_some_amount_overpays(
    policy: Policy, rate_bp: int, contract_bp: int, half: bool
) -> None:
    rate, contract = D(rate_bp).scaleb(-4), D(contract_bp).scaleb(-4)
    if half:  # the BM at exactly half the concession rate: the exact pool is 0
        contract = rate / 2
        assume(D("0.01") <= contract <= D("0.03"))
    conc, order = policy.shares(rate, contract)
    limit = search_bound(Fraction(rate), conc, order)
    assume(limit <= 4_000_000)
    first = brute_first_excess(Fraction(rate), conc, order, limit)
    assert policy.first_excess(rate, contract) == first
    if first is None:
        policy.check_contract(rate, contract)
    else:
        with pytest.raises(InfeasibleSplit, match=f"order of {first} fen"):
            policy.check_contract(rate, contract)


# --- release schedule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("growth", "periods"),
    [(None, 40), (D(0), 40), (D("-0.3"), 40), (D("0.1499"), 40), (D("0.15"), 36), (D("0.80"), 36)],
)
def test_periods_for_growth(policy: Policy, growth: Decimal | None, periods: int) -> None:
    assert policy.release.periods_for_growth(growth) == periods


def test_periods_for_growth_takes_the_fastest_step_met(policy_data: dict[str, Any]) -> None:
    policy_data["release"]["schedule"] = [
        {"min_gmv_growth": "0.30", "periods": 30},
        {"min_gmv_growth": "0.15", "periods": 36},
    ]
    rule = policy_from_mapping(policy_data).release
    assert [rule.periods_for_growth(D(g)) for g in ("0.1", "0.15", "0.29", "0.30", "1")] == [
        40, 36, 36, 30, 30,
    ]


@pytest.mark.parametrize("mutate", [
    lambda d: d["release"].__setitem__("schedule", 1),
    lambda d: d["concession"].__setitem__("category_rates", "catering"),
    lambda d: d["waterfall"][0].__setitem__("recipient", ["platform"]),
    lambda d: d["waterfall"][0].__setitem__("recipient", {"a": 1}),
    lambda d: d.__setitem__("risk", 3),
])
def test_settings_of_the_wrong_shape_are_policy_errors(mutate: Any) -> None:
    data = tomllib.loads(default_policy_text())
    mutate(data)
    with pytest.raises(PolicyError, match="policy"):
        policy_from_mapping(data)
