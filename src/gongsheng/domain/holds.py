"""Holds (冻结期): earnings withdrawable only ``hold_periods`` periods after they were earned.

A party's cash earnings (commissions, partner dividends, acquisition rewards, a merchant's
settlement) are attributed to the period of the order that paid them; a refund's reversal is
attributed to the same period (the order's), not to the period the refund happens in. Earnings of
period ``p`` are *held* while the open period is before ``p + hold_periods`` and *available*
from then on. Nothing moves at a close: what is held is a function of the stored per-(party,
period) earnings and the open period's number, read when asked (O(hold_periods) rows per party).

Invariant this buys: a withdrawal takes at most ``balance - held``, and a refund inside the window
lowers both the balance and the held amount by the same fen, so the balance stays at least the
held amount and never goes negative through such a refund.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gongsheng.domain.ledger import AccountKind, Asset, describe_account

MAX_HOLD_PERIODS = 24
"""Longest hold a policy may set (two years of monthly periods)."""


def cash_earnings(legs: Iterable[tuple[int, Asset, int]]) -> dict[int, int]:
    """Per party, what the legs add to (or, negative, take from) its own cash account."""
    out: dict[int, int] = {}
    for account, asset, amount in legs:
        if asset is not Asset.CNY or not amount:
            continue
        party, kind = describe_account(account)
        if kind is AccountKind.CASH:
            out[party] = out.get(party, 0) + amount
    return {p: v for p, v in out.items() if v}


def first_held_period(open_period: int, hold_periods: int) -> int:
    """The earliest period whose earnings are still held while ``open_period`` is open."""
    return open_period - hold_periods + 1


def available_from(earned_period: int, hold_periods: int) -> int:
    """The first open period in which earnings of ``earned_period`` may be withdrawn."""
    return earned_period + hold_periods


@dataclass(frozen=True)
class CashPosition:
    """A party's cash: its balance, the part still held and the part it may withdraw.

    ``held_by_period`` maps each earning period still in the window to what it holds (each at
    least 0: a period whose refunds exceed its earnings holds nothing). ``available_fen`` is
    ``max(0, balance - held)``: a negative balance (a reversal after a payout) has nothing
    available.
    """

    balance_fen: int
    held_fen: int
    available_fen: int
    hold_periods: int
    held_by_period: Mapping[int, int]

    @classmethod
    def of(cls, balance_fen: int, earnings: Mapping[int, int], hold_periods: int) -> CashPosition:
        held = {p: v for p, v in sorted(earnings.items()) if v > 0}
        total = sum(held.values())
        return cls(balance_fen, total, max(0, balance_fen - total), hold_periods, held)
