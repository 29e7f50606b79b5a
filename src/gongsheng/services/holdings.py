"""Holdings of points and their lazy settlement into vouchers (the accumulator pattern).

A holding is a holder's points in one release group (start period, cap multiple). Closing a
period advances only the groups' cumulative fractions; a holder is settled when touched
(wallet read, voucher spend, refund, exchange): it is owed ``floor(points x multiple x F_g)``
per group, and the settlement posts the difference from the holding's checkpoint
``settled_fen``. Released vouchers first repay any voucher debt (vouchers taken back after
they were spent). Invariants: ``settled_fen <= points x multiple x F_g``; the group's
``issued_fen`` equals ``floor(V_g x F_g)`` for its current points; the clearing account of
released-unsettled vouchers holds, per group, at most one fen per holder beyond what holders are owed.
A frozen holder is not settled (``services.freezes``): what it is owed waits in that clearing
account until it is unfrozen, and its next settlement pays it exactly.

The use cases work on the stores (``services/ports/``); :func:`settle` and :func:`holdings_of`
take a connection, for the use cases not on the stores yet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from gongsheng.domain.errors import InsufficientBalance
from gongsheng.domain.holdings import GroupRow, Holding, HoldingRow
from gongsheng.domain.ledger import (
    AccountKind,
    Asset,
    EntryKind,
    JournalEntry,
    account_id,
    describe_account,
    system_account,
)
from gongsheng.domain.money import ratio
from gongsheng.domain.release import released_to_date
from gongsheng.services.ports.work import Stores
from gongsheng.services.unit_of_work import Connection, stores_on

__all__ = ["Holding", "Settlement", "holdings_of", "settle", "settle_holder", "settlement_legs",
           "take_back"]


def settlement_legs(holder: int, owed: int, debt: int) -> list[tuple[int, Asset, int]]:
    """Legs moving ``owed`` released vouchers to a holder, repaying its debt (``debt <= 0``) first."""
    repay = min(owed, -debt)
    return [
        (system_account(AccountKind.VOUCHERS_UNSETTLED), Asset.VCH, -owed),
        (account_id(holder, AccountKind.VOUCHER_DEBT), Asset.VCH, repay),
        (account_id(holder, AccountKind.VOUCHERS), Asset.VCH, owed - repay),
    ]


@dataclass(frozen=True)
class Settlement:
    """A holder just settled: the fen it was paid, its started holdings and its own balances,
    all as they stand after the settlement (in the settling transaction)."""

    fen: int
    holdings: list[Holding]
    balances: dict[AccountKind, int]


def settle_holder(stores: Stores, holder: int, period: int) -> Settlement:
    """Settle a holder: pay what its started holdings released since their checkpoints.

    The holder's started holdings are locked first (PostgreSQL; SQLite has one writer), so that
    concurrent settlements of one holder (two orders, a wallet read) cannot both read the same
    checkpoint and pay the difference twice; its balances are read once, after that lock, and
    kept current in memory. Holdings starting after ``period`` (where orders add points) are
    left unlocked: they owe nothing yet, and locking them could deadlock with orders.
    """
    held, frozen = stores.holdings.to_settle(holder, period)
    balances = stores.ledger.party_balances(holder)
    if held and frozen:  # its releases wait, exactly, in the clearing account
        return Settlement(0, held, balances)
    due = {(hd.start_period, hd.multiple): hd.owed_fen - hd.settled_fen for hd in held}
    due = {k: d for k, d in due.items() if d > 0}
    if not due:
        return Settlement(0, held, balances)
    total = sum(due.values())
    entry = JournalEntry.build(
        EntryKind.SETTLEMENT,
        settlement_legs(holder, total, balances[AccountKind.VOUCHER_DEBT]), f"settle {holder}")
    assert entry is not None
    stores.holdings.settle(holder, period, entry, due)
    for leg in entry.postings:
        party, kind = describe_account(leg.account)
        if party == holder:
            balances[kind] += leg.amount
    after = [replace(hd, settled_fen=hd.settled_fen + due.get((hd.start_period, hd.multiple), 0))
             for hd in held]
    return Settlement(total, after, balances)


Groups = dict[tuple[int, str], GroupRow | None]
"""Release groups a caller read under their locks, by ``(start period, multiple text)``: a
take-back uses the row there instead of reading it again, and leaves it current."""


def take_back(stores: Stores, holder: int, start_period: int, multiple: Decimal, pts: int,
              period: int, kind: EntryKind, extra_legs: list[tuple[int, Asset, int]],
              groups: Groups | None = None) -> int:
    """Take ``pts`` points out of a holding (refund or exchange), taking back what they released.

    The holder is settled first; vouchers released on the removed points are taken back from its
    voucher balance, the rest as voucher debt; the group's issued total and the pool's reserve
    follow. ``extra_legs`` (the points' own movement) are posted in the same entry, written with
    the holding and the group in one write. ``groups`` may hold the group, locked already.
    Returns the vouchers taken back.
    """
    if pts <= 0:
        entry = JournalEntry.build(kind, extra_legs)
        if entry is not None:
            stores.ledger.post(entry, period, holder)
        return 0
    settled = settle_holder(stores, holder, period)
    row = _locked_holding(stores, settled, holder, start_period, multiple, period)
    if row is None or row.points_cpts < pts:
        raise InsufficientBalance(
            f"party {holder} holds {0 if row is None else row.points_cpts} centi-points in the "
            f"holding of period {start_period}, fewer than the {pts} to take back "
            "(exchanged already?)")
    # locked: two refunds of one started group must not both move its issued total from one read
    key = (start_period, str(multiple))
    grp = (groups[key] if groups is not None and key in groups
           else stores.holdings.group(start_period, multiple, lock=True))
    fraction = grp.fraction if grp else 0
    num, den = ratio(multiple)
    # a holder frozen since its last settlement has a checkpoint below what it is owed: only
    # what it was paid beyond what the remaining points owe is taken back (0 if nothing)
    new_settled = min(row.settled_fen,
                      int(released_to_date(row.points_cpts - pts, num, den, fraction)))
    clawback = row.settled_fen - new_settled
    legs = list(extra_legs)
    reissue = None
    total = grp.points_cpts - pts if grp else 0  # the group's points once these are out
    if grp is not None and fraction > 0:
        issued = int(released_to_date(total, num, den, fraction))
        unissue = grp.issued_fen - issued
        reissue = (issued, total)
        take = min(settled.balances[AccountKind.VOUCHERS], clawback)
        legs += [
            (account_id(holder, AccountKind.VOUCHERS), Asset.VCH, -take),
            (account_id(holder, AccountKind.VOUCHER_DEBT), Asset.VCH, -(clawback - take)),
            (system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH, unissue),
            (system_account(AccountKind.VOUCHERS_UNSETTLED), Asset.VCH, clawback - unissue),
            (system_account(AccountKind.POOL_RESERVED), Asset.CNY, -unissue),
            (system_account(AccountKind.POOL_AVAILABLE), Asset.CNY, unissue),
        ]
    stores.holdings.take_points(holder, start_period, multiple, pts, new_settled, period=period,
                                entry=JournalEntry.build(kind, legs, f"{kind.value} {holder}"),
                                reissue=reissue)
    if groups is not None and grp is not None:
        groups[key] = GroupRow(fraction, reissue[0] if reissue else grp.issued_fen, total)
    return clawback


def _locked_holding(stores: Stores, settled: Settlement, holder: int, start_period: int,
                    multiple: Decimal, period: int) -> HoldingRow | None:
    """The holding, locked (an order adding points to it concurrently must not be overwritten):
    a started one as the settlement that locked it left it, a later one read under its lock."""
    if start_period > period:
        return stores.holdings.holding(holder, start_period, multiple, lock=True)
    for hd in settled.holdings:  # a multiple is its stored text, as the store's key compares it
        if hd.start_period == start_period and str(hd.multiple) == str(multiple):
            return HoldingRow(hd.points_cpts, hd.settled_fen)
    return None  # the settlement read every started holding of the holder


# --- on a connection, for the use cases not on the stores yet ---------------------------------

def settle(conn: Connection, holder: int, period: int) -> Settlement:
    """:func:`settle_holder` on a connection."""
    return settle_holder(stores_on(conn), holder, period)


def holdings_of(conn: Connection, holder: int, *, started_by: int | None = None,
                later_than: int | None = None, lock: bool = False) -> list[Holding]:
    """A holder's holdings with their groups' released fractions, optionally only those that
    start by ``started_by`` or after ``later_than``, locked for update when ``lock``."""
    return stores_on(conn).holdings.holdings(holder, started_by=started_by,
                                             later_than=later_than, lock=lock)
