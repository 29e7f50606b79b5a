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
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import AddRows, upsert_add
from gongsheng.adapters.freeze_store import is_frozen
from gongsheng.adapters.ledger_store import party_balances, post
from gongsheng.domain.errors import InsufficientBalance
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
from gongsheng.domain.release import SCALE, released_to_date

_rng = random.Random()


@dataclass(frozen=True)
class Holding:
    """One holding as a wallet shows it."""

    start_period: int
    multiple: Decimal
    points_cpts: int
    fraction: int  # the group's released fraction, x SCALE
    settled_fen: int

    @property
    def cap_fen(self) -> int:
        num, den = ratio(self.multiple)
        return int(released_to_date(self.points_cpts, num, den, SCALE))

    @property
    def owed_fen(self) -> int:
        num, den = ratio(self.multiple)
        return int(released_to_date(self.points_cpts, num, den, self.fraction))


@cache
def _holdings_query(started_by: bool, later_than: bool, lock: bool) -> Select[Any]:
    """The statement behind :func:`holdings_of`, built once per shape (it is read on every touch)."""
    h, g = t.holdings, t.release_groups
    query = (
        select(h.c.start_period, h.c.multiple, h.c.points_cpts, func.coalesce(g.c.fraction, 0),
               h.c.settled_fen)
        .select_from(h.outerjoin(g, (g.c.start_period == h.c.start_period)
                                 & (g.c.multiple == h.c.multiple)))
        .where(h.c.holder_id == bindparam("holder")).order_by(h.c.start_period, h.c.multiple)
    )
    if started_by:
        query = query.where(h.c.start_period <= bindparam("started_by"))
    if later_than:
        query = query.where(h.c.start_period > bindparam("later_than"))
    return query.with_for_update(of=h) if lock else query


def holdings_of(conn: Connection, holder: int, *, started_by: int | None = None,
                later_than: int | None = None, lock: bool = False) -> list[Holding]:
    """A holder's holdings with their groups' released fractions, optionally only those that
    start by ``started_by`` or after ``later_than``, locked for update when ``lock``."""
    query = _holdings_query(started_by is not None, later_than is not None, lock)
    rows = conn.execute(query, {"holder": holder, "started_by": started_by,
                                "later_than": later_than}).all()
    return [Holding(int(s), Decimal(m), int(p), int(f), int(d)) for s, m, p, f, d in rows]


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


def settle(conn: Connection, holder: int, period: int) -> Settlement:
    """Settle a holder: pay what its started holdings released since their checkpoints.

    The holder's started holdings are locked first (PostgreSQL; SQLite has one writer), so that
    concurrent settlements of one holder (two orders, a wallet read) cannot both read the same
    checkpoint and pay the difference twice; its balances are read once, after that lock, and
    kept current in memory. Holdings starting after ``period`` (where orders add points) are
    left unlocked: they owe nothing yet, and locking them could deadlock with orders.
    """
    held = holdings_of(conn, holder, started_by=period, lock=True)
    balances = party_balances(conn, holder)
    if held and is_frozen(conn, holder):  # its releases wait, exactly, in the clearing account
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
    checkpoints = AddRows(t.holdings, ("holder_id", "start_period", "multiple"),
                          ("points_cpts", "settled_fen"),
                          tuple((holder, start, str(m), 0, d) for (start, m), d in due.items()))
    post(conn, entry, period, holder, along=[checkpoints])
    for leg in entry.postings:
        party, kind = describe_account(leg.account)
        if party == holder:
            balances[kind] += leg.amount
    after = [replace(hd, settled_fen=hd.settled_fen + due.get((hd.start_period, hd.multiple), 0))
             for hd in held]
    return Settlement(total, after, balances)


def group_points(conn: Connection, start_period: int, multiple: str) -> int:
    return int(conn.execute(
        select(func.coalesce(func.sum(t.group_points.c.points_cpts), 0)).where(
            t.group_points.c.start_period == start_period, t.group_points.c.multiple == multiple)
    ).scalar_one())


def remove_points(conn: Connection, holder: int, start_period: int, multiple: Decimal, pts: int,
                  period: int, kind: EntryKind, extra_legs: list[tuple[int, Asset, int]]) -> int:
    """Take ``pts`` points out of a holding (refund or exchange), taking back what they released.

    The holder is settled first; vouchers released on the removed points are taken back from its
    voucher balance, the rest as voucher debt; the group's issued total and the pool's reserve
    follow. ``extra_legs`` (the points' own movement) are posted in the same entry. Returns the
    vouchers taken back.
    """
    m = str(multiple)
    if pts <= 0:
        entry = JournalEntry.build(kind, extra_legs)
        if entry is not None:
            post(conn, entry, period, holder)
        return 0
    settled = settle(conn, holder, period)
    # locked: an order adding points to this holding concurrently must not be overwritten
    row = conn.execute(select(t.holdings.c.points_cpts, t.holdings.c.settled_fen).where(
        t.holdings.c.holder_id == holder, t.holdings.c.start_period == start_period,
        t.holdings.c.multiple == m).with_for_update()).first()
    if row is None or row[0] < pts:
        raise InsufficientBalance(
            f"party {holder} holds {0 if row is None else row[0]} centi-points in the holding of "
            f"period {start_period}, fewer than the {pts} to take back (exchanged already?)")
    # locked: two refunds of one started group must not both move its issued total from one read
    grp = conn.execute(select(t.release_groups.c.fraction, t.release_groups.c.issued_fen).where(
        t.release_groups.c.start_period == start_period, t.release_groups.c.multiple == m)
        .with_for_update()).first()
    fraction = int(grp[0]) if grp else 0
    num, den = ratio(multiple)
    # a holder frozen since its last settlement has a checkpoint below what it is owed: only
    # what it was paid beyond what the remaining points owe is taken back (0 if nothing)
    new_settled = min(int(row[1]), int(released_to_date(row[0] - pts, num, den, fraction)))
    clawback = int(row[1]) - new_settled
    conn.execute(update(t.holdings).where(
        t.holdings.c.holder_id == holder, t.holdings.c.start_period == start_period,
        t.holdings.c.multiple == m).values(points_cpts=row[0] - pts, settled_fen=new_settled))
    upsert_add(conn, t.group_points, ("start_period", "multiple", "stripe"), ("points_cpts",),
               [(start_period, m, _rng.randrange(t.STRIPES), -pts)])
    legs = list(extra_legs)
    if grp is not None and fraction > 0:
        total = group_points(conn, start_period, m)
        issued = int(released_to_date(total, num, den, fraction))
        unissue = int(grp[1]) - issued
        conn.execute(update(t.release_groups).where(
            t.release_groups.c.start_period == start_period, t.release_groups.c.multiple == m)
            .values(issued_fen=issued, points_cpts=total))
        take = min(settled.balances[AccountKind.VOUCHERS], clawback)
        legs += [
            (account_id(holder, AccountKind.VOUCHERS), Asset.VCH, -take),
            (account_id(holder, AccountKind.VOUCHER_DEBT), Asset.VCH, -(clawback - take)),
            (system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH, unissue),
            (system_account(AccountKind.VOUCHERS_UNSETTLED), Asset.VCH, clawback - unissue),
            (system_account(AccountKind.POOL_RESERVED), Asset.CNY, -unissue),
            (system_account(AccountKind.POOL_AVAILABLE), Asset.CNY, unissue),
        ]
    entry = JournalEntry.build(kind, legs, f"{kind.value} {holder}")
    if entry is not None:
        post(conn, entry, period, holder)
    return clawback
