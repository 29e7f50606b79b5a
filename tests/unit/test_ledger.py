"""ledger: entries balance per asset or cannot be built; account ids encode owner and kind."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain.errors import InvariantViolation
from gongsheng.domain.ledger import (
    ACCOUNTS_PER_PARTY,
    PLATFORM_PARTY_ID,
    AccountKind,
    Asset,
    EntryKind,
    JournalEntry,
    Posting,
    account_id,
    account_name,
    describe_account,
    system_account,
    trial_balance,
    unbalanced_assets,
)

CASH_7 = account_id(7, AccountKind.CASH)
CASH_8 = account_id(8, AccountKind.CASH)
POINTS_7 = account_id(7, AccountKind.POINTS)
VOUCHERS_7 = account_id(7, AccountKind.VOUCHERS)
POOL = system_account(AccountKind.POOL_AVAILABLE)
ISSUED = system_account(AccountKind.POINTS_ISSUED)

PARTY_KINDS = [k for k in AccountKind if not k.system]
SYSTEM_KINDS = [k for k in AccountKind if k.system]


# --- accounts -------------------------------------------------------------------------------


def test_kind_codes_are_unique_and_fit() -> None:
    codes = [k.code for k in AccountKind]
    assert len(set(codes)) == len(codes)
    assert all(0 < c < ACCOUNTS_PER_PARTY for c in codes)


@given(st.integers(0, 10**12), st.sampled_from(PARTY_KINDS))
def test_party_account_round_trips(party: int, kind: AccountKind) -> None:
    acc = account_id(party, kind)
    assert describe_account(acc) == (party, kind)
    assert account_name(acc) == f"party:{party}:{kind.name.lower()}"


@given(st.integers(0, 10**12), st.sampled_from(SYSTEM_KINDS))
def test_system_accounts_belong_to_the_platform(party: int, kind: AccountKind) -> None:
    acc = account_id(party, kind)
    assert acc == system_account(kind)
    assert describe_account(acc) == (PLATFORM_PARTY_ID, kind)
    assert account_name(acc) == kind.name.lower()


@given(st.integers(0, 10**6), st.sampled_from(PARTY_KINDS), st.integers(0, 10**6),
       st.sampled_from(PARTY_KINDS))
def test_distinct_party_accounts_have_distinct_ids(p1: int, k1: AccountKind, p2: int,
                                                   k2: AccountKind) -> None:
    assert (account_id(p1, k1) == account_id(p2, k2)) == ((p1, k1) == (p2, k2))


def test_describe_refuses_an_unknown_kind_code() -> None:
    with pytest.raises(InvariantViolation):
        describe_account(5 * ACCOUNTS_PER_PARTY + 63)


# --- journal entries -------------------------------------------------------------------------


def test_balanced_entry() -> None:
    entry = JournalEntry(EntryKind.PAYOUT, (Posting(CASH_7, Asset.CNY, -500),
                                            Posting(CASH_8, Asset.CNY, 500)))
    assert len(entry.postings) == 2


def test_entry_refuses_unbalanced_postings() -> None:
    with pytest.raises(InvariantViolation, match="balance"):
        JournalEntry(EntryKind.ORDER, (Posting(CASH_7, Asset.CNY, 100), Posting(CASH_8, Asset.CNY, -99)))


def test_entry_balances_per_asset_not_in_total() -> None:
    # +5 fen against -5 centi-points sums to zero but is two unbalanced assets
    with pytest.raises(InvariantViolation, match="balance"):
        JournalEntry(EntryKind.ORDER, (Posting(CASH_7, Asset.CNY, 5), Posting(POINTS_7, Asset.PTS, -5)))
    with pytest.raises(InvariantViolation, match="balance"):
        JournalEntry(EntryKind.ORDER, (
            Posting(CASH_7, Asset.CNY, 5), Posting(CASH_8, Asset.CNY, -5),
            Posting(POINTS_7, Asset.PTS, 3), Posting(ISSUED, Asset.PTS, -2),
        ))


@pytest.mark.parametrize(
    "postings",
    [(), (Posting(CASH_7, Asset.CNY, 0),)],
    ids=["none", "one zero posting"],
)
def test_entry_needs_two_postings(postings: tuple[Posting, ...]) -> None:
    with pytest.raises(InvariantViolation, match="two postings"):
        JournalEntry(EntryKind.ADJUSTMENT, postings)


@pytest.mark.parametrize(
    ("account", "asset"),
    [
        (POINTS_7, Asset.CNY),      # a points account holding money
        (CASH_7, Asset.VCH),        # a cash account holding vouchers
        (VOUCHERS_7, Asset.PTS),
        (POOL, Asset.PTS),
        (7 * ACCOUNTS_PER_PARTY + 40, Asset.CNY),  # no such kind
    ],
)
def test_entry_refuses_an_account_that_does_not_hold_the_asset(account: int, asset: Asset) -> None:
    with pytest.raises(InvariantViolation, match="does not hold"):
        JournalEntry(EntryKind.ORDER, (Posting(account, asset, 10), Posting(account, asset, -10)))


@pytest.mark.parametrize("amount", [np.int64(10), 10.0, True], ids=["int64", "float", "bool"])
def test_entry_refuses_non_integer_amounts(amount: object) -> None:
    neg = -10 if amount is not True else -1
    with pytest.raises(InvariantViolation, match="integers"):
        JournalEntry(EntryKind.ORDER, (Posting(CASH_7, Asset.CNY, amount),  # type: ignore[arg-type]
                                       Posting(CASH_8, Asset.CNY, neg)))


def test_build_merges_legs_and_drops_zeros() -> None:
    entry = JournalEntry.build(EntryKind.ORDER, [
        (CASH_7, Asset.CNY, 100),
        (CASH_7, Asset.CNY, -30),
        (CASH_8, Asset.CNY, -70),
        (POINTS_7, Asset.PTS, 0),
        (VOUCHERS_7, Asset.VCH, 25),
        (VOUCHERS_7, Asset.VCH, -25),
    ], memo="m")
    assert entry is not None
    assert set(entry.postings) == {Posting(CASH_7, Asset.CNY, 70), Posting(CASH_8, Asset.CNY, -70)}
    assert entry.memo == "m"


def test_build_converts_numpy_amounts() -> None:
    legs: list[tuple[int, Asset, Any]] = [(CASH_7, Asset.CNY, np.int64(4)),
                                          (CASH_8, Asset.CNY, np.int64(-4))]
    entry = JournalEntry.build(EntryKind.RELEASE, legs)
    assert entry is not None
    assert all(type(p.amount) is int for p in entry.postings)


def test_build_of_nothing_is_none() -> None:
    assert JournalEntry.build(EntryKind.ORDER, []) is None
    assert JournalEntry.build(EntryKind.ORDER, [(CASH_7, Asset.CNY, 0)]) is None
    assert JournalEntry.build(EntryKind.ORDER, [(CASH_7, Asset.CNY, 9), (CASH_7, Asset.CNY, -9)]) is None


def test_build_still_refuses_unbalanced_legs() -> None:
    with pytest.raises(InvariantViolation):
        JournalEntry.build(EntryKind.ORDER, [(CASH_7, Asset.CNY, 9), (CASH_8, Asset.CNY, -8)])


ACCOUNTS = {
    Asset.CNY: [CASH_7, CASH_8, POOL, system_account(AccountKind.PLATFORM_REVENUE)],
    Asset.PTS: [POINTS_7, ISSUED, account_id(8, AccountKind.POINTS)],
    Asset.VCH: [VOUCHERS_7, system_account(AccountKind.VOUCHERS_REDEEMED)],
}
legs_strategy = st.lists(
    st.sampled_from(list(Asset)).flatmap(
        lambda asset: st.tuples(st.sampled_from(ACCOUNTS[asset]), st.just(asset),
                                st.integers(-(10**9), 10**9))
    ),
    max_size=15,
)


@given(legs_strategy)
def test_build_of_balanced_legs_keeps_every_account_total(legs: list[tuple[int, Asset, int]]) -> None:
    # balance each asset with one more leg, then compare the entry with a hand-merged total
    sums: dict[Asset, int] = defaultdict(int)
    for _, asset, amount in legs:
        sums[asset] += amount
    legs = legs + [(ACCOUNTS[a][0], a, -s) for a, s in sums.items()]
    expected: dict[tuple[int, Asset], int] = defaultdict(int)
    for acc, asset, amount in legs:
        expected[(acc, asset)] += amount
    expected_nonzero = {k: v for k, v in expected.items() if v}

    entry = JournalEntry.build(EntryKind.ADJUSTMENT, legs)
    if not expected_nonzero:
        assert entry is None
        return
    assert entry is not None
    assert all(p.amount != 0 for p in entry.postings)
    assert len({(p.account, p.asset) for p in entry.postings}) == len(entry.postings)
    assert trial_balance(entry.postings) == expected_nonzero
    assert unbalanced_assets(trial_balance(entry.postings)) == {}


def test_unbalanced_assets_reports_the_asset_and_its_sum() -> None:
    balances = {(CASH_7, Asset.CNY): 10, (CASH_8, Asset.CNY): -10, (POINTS_7, Asset.PTS): 3}
    assert unbalanced_assets(balances) == {Asset.PTS: 3}
