"""waterfall: the worked example to the fen, vacancies to the pool, exact sums, NumPy parity."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from gongsheng.domain.errors import InvariantViolation
from gongsheng.domain.money import ratio
from gongsheng.domain.policy import Base, Policy, Recipient
from gongsheng.domain.waterfall import (
    Allocation,
    Beneficiaries,
    Split,
    concession,
    part_ratios,
    split_amounts,
    split_order,
)

from .rounding_reference import half_up, reference_split

D = Decimal
EVERYONE = Beneficiaries(platform=1, region_partner=2, signing_promoter=3, bound_bm=4, home_merchant=5)


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


def test_split_refuses_parts_that_do_not_sum_to_the_concession() -> None:
    alloc = (Allocation("platform_fee", Recipient.PLATFORM, 1, 20),)
    Split(1000, 100, alloc, 80)
    with pytest.raises(InvariantViolation, match="sum exactly"):
        Split(1000, 100, alloc, 79)
    with pytest.raises(InvariantViolation, match="sum exactly"):
        Split(1000, 100, (Allocation("platform_fee", Recipient.PLATFORM, 1, 120),), -20)


def test_rounded_parts_above_the_concession_raise_instead_of_paying_less(policy: Policy) -> None:
    # r = 6%, BM 3% of G, G = 84: C = 5 and the parts rounded half up are 1 + 1 + 1 + 3 + 0 = 6.
    # The policy refuses this contract; if it reached a split, the split must not quietly pay the
    # BM 2 instead of 3.
    assert half_up(84 * Fraction(6, 100)) == 5
    with pytest.raises(InvariantViolation):
        split_order(policy, 84, D("0.06"), D("0.03"), EVERYONE)


def test_a_vacant_part_does_not_reduce_the_parts_after_it(policy: Policy) -> None:
    # same rates, only platform and BM present: MODEL.md gives BM 3 (half up of 2.52) and pool 1.
    # The combination is refused (the rounded parts of a full house exceed C); the engine either
    # pays the BM its 3 or refuses the split, never 2.
    with pytest.raises(InvariantViolation):
        split_order(policy, 84, D("0.06"), D("0.03"), beneficiaries((False, False, True, False)))


@pytest.mark.parametrize("present", [p for p in itertools.product((False, True), repeat=4)])
def test_vacancies_change_only_the_pool(policy: Policy, present: tuple[bool, bool, bool, bool]) -> None:
    # 20% / 1% is feasible: at every amount each present part is what a full house pays it
    for gross in [*range(1, 300), 582_506_084, 10**12 + 7]:
        full = split_order(policy, gross, D("0.20"), D("0.01"), EVERYONE)
        split = split_order(policy, gross, D("0.20"), D("0.01"), beneficiaries(present))
        assert [a.amount_fen for a in split.allocations] == [a.amount_fen for a in full.allocations]
        vacant = sum(a.amount_fen for a in split.allocations if a.vacant)
        assert split.pool_fen == full.pool_fen + vacant


# --- properties -------------------------------------------------------------------------------

gross_fen = st.one_of(st.integers(min_value=1, max_value=2_000), st.integers(min_value=1, max_value=10**9))
concession_rates = st.integers(300, 2000).map(lambda bp: D(bp).scaleb(-4))  # 3% .. 20%, 0.01% steps
contract_rates = st.integers(100, 300).map(lambda bp: D(bp).scaleb(-4))    # 1% .. 3%
presence = st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans())


def _reference(policy: Policy, gross: int, rate: Decimal, contract: Decimal,
               present: tuple[bool, bool, bool, bool]) -> tuple[int, list[int], int]:
    parts = [(Fraction(contract if p.rate is None else p.rate), p.base is Base.ORDER)
             for p in policy.waterfall]
    who = beneficiaries(present)
    return reference_split(gross, Fraction(rate), parts,
                           [who.of(p.recipient) is not None for p in policy.waterfall])


@given(gross_fen, concession_rates, contract_rates, presence)
@settings(max_examples=400)
@example(84, D("0.06"), D("0.03"), (False, False, True, False))
@example(84, D("0.06"), D("0.03"), (True, True, True, True))
@example(167, D("0.03"), D("0.015"), (True, False, True, False))
@example(300, D("0.0333"), D("0.015"), (False, True, True, True))
def test_split_is_section_3_or_refused(
    policy: Policy, gross: int, rate: Decimal, contract: Decimal, present: tuple[bool, bool, bool, bool]
) -> None:
    """Each part rounded half up on its own, vacant parts to the pool, the pool the rest; an
    order whose rounded parts exceed C raises, and only under a combination the policy refuses."""
    conc, amounts, pool = _reference(policy, gross, rate, contract, present)
    full_house = _reference(policy, gross, rate, contract, (True,) * 4)[1]
    assert amounts == full_house  # MODEL.md: a vacant part changes no other part
    if sum(amounts) > conc:
        assert not policy.feasible(rate, contract)
        with pytest.raises(InvariantViolation):
            split_order(policy, gross, rate, contract, beneficiaries(present))
        return
    split = split_order(policy, gross, rate, contract, beneficiaries(present))
    assert split.concession_fen == conc
    assert [a.amount_fen for a in split.allocations] == amounts
    assert split.pool_fen == pool
    assert [a.party_id for a in split.allocations] == [
        beneficiaries(present).of(p.recipient) for p in policy.waterfall]


order_rows = st.lists(
    st.tuples(gross_fen, concession_rates, contract_rates, presence), min_size=1, max_size=40
)


@given(order_rows)
@settings(max_examples=100, deadline=None)
def test_split_amounts_on_int64_arrays_matches_the_scalar_split(
    policy: Policy, rows: list[tuple[int, Decimal, Decimal, tuple[bool, bool, bool, bool]]]
) -> None:
    rows = [r for r in rows if policy.feasible(r[1], r[2])]  # the only contracts ever signed
    assume(rows)
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


def test_split_amounts_on_arrays_raises_when_any_row_overpays() -> None:
    gross = np.array([1000_00, 84], dtype=np.int64)
    conc = concession(gross, 6, 100)
    parts = [(1, 5, False), (3, 20, False), (1, 10, False), (3, 100, True), (1, 20, False)]
    present = [np.ones(2, dtype=np.int64)] * 5
    amounts, _ = split_amounts(gross[:1], conc[:1], parts, [p[:1] for p in present])
    assert [int(a[0]) for a in amounts] == [1200, 900, 600, 3000, 300]
    with pytest.raises(InvariantViolation):
        split_amounts(gross, conc, parts, present)
