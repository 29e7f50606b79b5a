"""Holds in the domain: the policy's ``hold_periods``, which legs are earnings, the window."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain.errors import PolicyError
from gongsheng.domain.holds import (
    MAX_HOLD_PERIODS,
    CashPosition,
    available_from,
    cash_earnings,
    first_held_period,
)
from gongsheng.domain.ledger import AccountKind, Asset, account_id, system_account
from gongsheng.domain.policy import policy_from_mapping


def test_hold_periods_default_bounds_and_type(policy_data: dict[str, Any]) -> None:
    assert policy_from_mapping(policy_data).hold_periods == 1
    policy_data["payouts"].pop("hold_periods", None)
    assert policy_from_mapping(policy_data).hold_periods == 1  # absent: the default
    for ok in (0, MAX_HOLD_PERIODS):
        policy_data["payouts"]["hold_periods"] = ok
        assert policy_from_mapping(policy_data).hold_periods == ok
    for bad in (-1, MAX_HOLD_PERIODS + 1, True, "1", 1.0):
        policy_data["payouts"]["hold_periods"] = bad
        with pytest.raises(PolicyError, match="hold_periods"):
            policy_from_mapping(policy_data)


def test_only_parties_cash_legs_are_earnings() -> None:
    legs = [(system_account(AccountKind.CASH_IN), Asset.CNY, -1_000),
            (account_id(7, AccountKind.CASH), Asset.CNY, 800),
            (account_id(8, AccountKind.CASH), Asset.CNY, 150),
            (account_id(8, AccountKind.CASH), Asset.CNY, 50),
            (system_account(AccountKind.PLATFORM_REVENUE), Asset.CNY, 0),
            (account_id(7, AccountKind.POINTS), Asset.PTS, 200)]
    assert cash_earnings(legs) == {7: 800, 8: 200}


@given(st.integers(1, 500), st.integers(0, MAX_HOLD_PERIODS), st.integers(1, 500))
def test_a_period_is_held_exactly_until_it_is_available(open_period: int, hold: int,
                                                        earned: int) -> None:
    held = earned >= first_held_period(open_period, hold)
    assert held == (open_period < available_from(earned, hold))


@given(st.integers(-10**9, 10**9), st.dictionaries(st.integers(1, 50), st.integers(-10**6, 10**6)))
def test_available_is_the_balance_less_what_is_held(balance: int, earned: dict[int, int]) -> None:
    position = CashPosition.of(balance, earned, 1)
    assert position.held_fen == sum(v for v in earned.values() if v > 0)
    assert position.available_fen == max(0, balance - position.held_fen) >= 0
