"""waterfall: the worked example to the fen, vacancies to the pool, exact sums, NumPy parity."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.domain.money import ratio
from gongsheng.domain.policy import Base, Policy, Recipient
from gongsheng.domain.waterfall import (
    Allocation,
    Beneficiaries,
    Split,
    cap,
    concession,
    part_ratios,
    split_amounts,
    split_order,
)

D = Decimal
EVERYONE = Beneficiaries(platform=1, region_partner=2, signing_promoter=3, bound_bm=4, home_merchant=5)


def half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def beneficiaries(present: tuple[bool, bool, bool, bool]) -> Beneficiaries:
    partner, promoter, bm, home = present
    return Beneficiaries(
        platform=1,
        region_partner=2 if partner else None,
        signing_promoter=3 if promoter else None,
        bound_bm=4 if bm else None,
        home_merchant=5 if home else None,
    )


# --- MODEL.md section 9 ------------------------------------------------------------------------


def test_worked_example_to_the_fen(policy: Policy) -> None:
    split = split_order(policy, 1000_00, D("0.20"), D("0.01"), EVERYONE)
    assert split.gross_fen == 1000_00
    assert split.concession_fen == 200_00
    assert split.paid_to(Recipient.PLATFORM) == 40_00
    assert split.paid_to(Recipient.REGION_PARTNER) == 30_00
    assert split.paid_to(Recipient.SIGNING_PROMOTER) == 20_00
    assert split.paid_to(Recipient.BOUND_BM) == 10_00
    assert split.paid_to(Recipient.HOME_MERCHANT) == 10_00
    assert split.pool_fen == 90_00
    assert [(a.part, a.party_id) for a in split.allocations] == [
        ("platform_fee", 1),
        ("partner_dividend", 2),
        ("ground_commission", 3),
        ("bm_commission", 4),
        ("acquisition_reward", 5),
    ]
    # the seed's 正拨比: 80% of the concession to users and incentives, 20% to the platform
    assert (split.concession_fen - split.paid_to(Recipient.PLATFORM)) * 5 == split.concession_fen * 4


def test_vacant_roles_go_to_the_pool(policy: Policy) -> None:
    # no partner in the region, consumer not brought in by another merchant
    split = split_order(policy, 1000_00, D("0.20"), D("0.01"), beneficiaries((False, True, True, False)))
    assert split.paid_to(Recipient.REGION_PARTNER) == 0
    assert split.paid_to(Recipient.HOME_MERCHANT) == 0
    assert split.pool_fen == 90_00 + 30_00 + 10_00
    vacant = {a.part: a.amount_fen for a in split.allocations if a.vacant}
    assert vacant == {"partner_dividend": 30_00, "acquisition_reward": 10_00}  # shown, not paid


def test_all_vacant_leaves_only_the_platform_fee(policy: Policy) -> None:
    split = split_order(policy, 1000_00, D("0.20"), D("0.01"), beneficiaries((False,) * 4))
    assert split.pool_fen == 200_00 - 40_00
    assert sum(a.amount_fen for a in split.allocations if not a.vacant) == 40_00


def test_split_is_deterministic(policy: Policy) -> None:
    args = (policy, 123_45, D("0.15"), D("0.02"), EVERYONE)
    assert split_order(*args) == split_order(*args)


def test_split_refuses_parts_that_do_not_sum_to_the_concession() -> None:
    alloc = (Allocation("platform_fee", Recipient.PLATFORM, 1, 20),)
    Split(1000, 100, alloc, 80)
    with pytest.raises(ValueError):
        Split(1000, 100, alloc, 79)
    with pytest.raises(ValueError):
        Split(1000, 100, (Allocation("platform_fee", Recipient.PLATFORM, 1, 120),), -20)


def test_tiny_orders_still_sum_to_the_concession(policy: Policy) -> None:
    # at r = 3% with a 1.5% BM the exact pool is 0: rounding half up would overshoot, the cap stops it
    for gross in range(1, 400):
        split = split_order(policy, gross, D("0.03"), D("0.015"), EVERYONE)
        paid = [a.amount_fen for a in split.allocations]
        assert sum(paid) + split.pool_fen == split.concession_fen
        assert min(paid) >= 0 and split.pool_fen >= 0


def test_cap_is_min() -> None:
    assert [cap(a, b) for a, b in [(3, 5), (5, 3), (4, 4), (0, 7)]] == [3, 3, 4, 0]
    arr = cap(np.array([3, 5, 4], dtype=np.int64), np.array([5, 3, 4], dtype=np.int64))
    assert arr.tolist() == [3, 3, 4]


# --- properties -------------------------------------------------------------------------------

gross_fen = st.integers(min_value=1, max_value=10**9)
concession_rates = st.integers(300, 2000).map(lambda bp: D(bp).scaleb(-4))  # 3% .. 20%, 0.01% steps
contract_rates = st.integers(100, 300).map(lambda bp: D(bp).scaleb(-4))    # 1% .. 3%
presence = st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans())


@given(gross_fen, concession_rates, contract_rates, presence)
@settings(max_examples=300)
def test_split_sums_exactly_and_each_part_is_rounded_half_up(
    policy: Policy, gross: int, rate: Decimal, contract: Decimal, present: tuple[bool, bool, bool, bool]
) -> None:
    who = beneficiaries(present)
    split = split_order(policy, gross, rate, contract, who)

    conc = half_up(gross * Fraction(rate))
    assert split.concession_fen == conc
    assert split.pool_fen >= 0
    assert sum(a.amount_fen for a in split.allocations if not a.vacant) + split.pool_fen == conc
    vacant_total = sum(a.amount_fen for a in split.allocations if a.vacant)
    assert split.pool_fen >= vacant_total

    remaining = conc
    for part, alloc in zip(policy.waterfall, split.allocations, strict=True):
        assert alloc.part == part.name
        assert alloc.party_id == who.of(part.recipient)
        part_rate = Fraction(contract if part.rate is None else part.rate)
        base = gross if part.base is Base.ORDER else conc
        exact = half_up(base * part_rate)
        # rounded half up from its exact value, unless the parts before it left less
        assert alloc.amount_fen == min(exact, remaining)
        assert alloc.amount_fen >= 0
        remaining -= alloc.amount_fen
    assert remaining >= 0


@given(gross_fen, concession_rates, contract_rates, presence)
def test_feasible_contracts_are_never_capped_on_orders_above_a_yuan(
    policy: Policy, gross: int, rate: Decimal, contract: Decimal, present: tuple[bool, bool, bool, bool]
) -> None:
    # with a pool share of at least 1/4 of C, a concession of 100 fen or more leaves >= 25 fen of
    # exact slack, far more than the rounding of five parts (<= 2.5 fen): nothing is capped
    share = Fraction(policy.named_share(rate, contract))
    conc = half_up(gross * Fraction(rate))
    if share > Fraction(3, 4) or conc < 100:
        return
    split = split_order(policy, gross, rate, contract, beneficiaries(present))
    for part, alloc in zip(policy.waterfall, split.allocations, strict=True):
        part_rate = Fraction(contract if part.rate is None else part.rate)
        base = gross if part.base is Base.ORDER else conc
        assert alloc.amount_fen == half_up(base * part_rate)


order_rows = st.lists(
    st.tuples(gross_fen, concession_rates, contract_rates, presence), min_size=1, max_size=40
)


@given(order_rows)
@settings(max_examples=100, deadline=None)
def test_split_amounts_on_int64_arrays_matches_the_scalar_split(
    policy: Policy, rows: list[tuple[int, Decimal, Decimal, tuple[bool, bool, bool, bool]]]
) -> None:
    gross = np.array([r[0] for r in rows], dtype=np.int64)
    r_num = np.array([ratio(r[1])[0] for r in rows], dtype=np.int64)
    r_den = np.array([ratio(r[1])[1] for r in rows], dtype=np.int64)
    conc = concession(gross, r_num, r_den)

    parts: list[tuple[Any, Any, bool]] = []
    for part in policy.waterfall:
        if part.rate is None:
            num = np.array([ratio(r[2])[0] for r in rows], dtype=np.int64)
            den = np.array([ratio(r[2])[1] for r in rows], dtype=np.int64)
            parts.append((num, den, part.base is Base.ORDER))
        else:
            n, d = ratio(part.rate)
            parts.append((n, d, part.base is Base.ORDER))
    # the platform is always there; the four other roles per row
    present = [np.ones(len(rows), dtype=np.int64)] + [
        np.array([int(r[3][i]) for r in rows], dtype=np.int64) for i in range(4)
    ]
    amounts, pool = split_amounts(gross, conc, parts, present)

    assert conc.dtype == np.int64 and pool.dtype == np.int64
    for i, (g, rate, contract, here) in enumerate(rows):
        split = split_order(policy, g, rate, contract, beneficiaries(here))
        assert int(conc[i]) == split.concession_fen
        assert int(pool[i]) == split.pool_fen
        assert [int(a[i]) for a in amounts] == [a.amount_fen for a in split.allocations]


def test_part_ratios_of_the_default_policy(policy: Policy) -> None:
    assert part_ratios(policy, D("0.02")) == [
        (1, 5, False), (3, 20, False), (1, 10, False), (1, 50, True), (1, 20, False),
    ]
