"""Wallets: a holder's points, holdings, vouchers and projected completion.

Reading a wallet settles the holder first (lazy settlement), so the figures are current. The
projection is at the last period's release rate and is labelled as such: never a promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.ledger_store import balances_of
from gongsheng.domain.errors import NotFound
from gongsheng.domain.ledger import AccountKind, account_id
from gongsheng.domain.release import SCALE, periods_to_complete, rate_as_decimal
from gongsheng.services.holdings import holdings_of, settled_holdings
from gongsheng.services.unit_of_work import lock_books


@dataclass(frozen=True)
class Wallet:
    party_id: int
    kind: str
    points_cpts: int
    vouchers_fen: int
    voucher_debt_fen: int
    cash_fen: int
    units_cpts: int
    release_rate: str
    holdings: tuple[dict[str, Any], ...]
    projection_note: str = ("periods_to_complete is a projection at the last period's release "
                            "rate, not a promise: the rate follows what the pool can pay")


def party_kind(conn: Connection, party_id: int) -> str:
    kind = conn.execute(select(t.parties.c.kind).where(t.parties.c.id == party_id)).scalar_one_or_none()
    if kind is None:
        raise NotFound(f"party {party_id} does not exist")
    return str(kind)


def wallet(conn: Connection, party_id: int) -> Wallet:
    """Settle the party and return its wallet (the caller commits the settlement)."""
    lock_books(conn)  # the settlement is stamped with the open period: no close in between
    p = t.periods
    row = conn.execute(
        select(t.parties.c.kind,
               select(p.c.seq).where(p.c.status == "open").scalar_subquery(),
               select(p.c.release_rate).where(p.c.status == "closed")
               .order_by(p.c.seq.desc()).limit(1).scalar_subquery())
        .where(t.parties.c.id == party_id)).first()
    if row is None:
        raise NotFound(f"party {party_id} does not exist")
    kind, period, rate = str(row[0]), int(row[1]), int(row[2] or 0)
    _, held = settled_holdings(conn, party_id, period)
    held += holdings_of(conn, party_id, later_than=period)
    kinds = (AccountKind.POINTS, AccountKind.VOUCHERS, AccountKind.VOUCHER_DEBT, AccountKind.CASH,
             AccountKind.UNITS)
    accounts = {k: account_id(party_id, k) for k in kinds}
    bal = balances_of(conn, list(accounts.values()))
    holdings = tuple(
        {"start_period": h.start_period, "cap_multiple": str(h.multiple),
         "points_cpts": h.points_cpts, "cap_fen": h.cap_fen,
         "released_fraction": str(rate_as_decimal(h.fraction)), "released_fen": h.settled_fen,
         "started": h.start_period <= period - 1 or h.fraction > 0,
         "periods_to_complete": periods_to_complete(h.fraction, rate) if h.points_cpts else 0}
        for h in held
    )
    return Wallet(party_id, kind, bal[accounts[AccountKind.POINTS]],
                  bal[accounts[AccountKind.VOUCHERS]], bal[accounts[AccountKind.VOUCHER_DEBT]],
                  bal[accounts[AccountKind.CASH]], bal[accounts[AccountKind.UNITS]],
                  str(rate_as_decimal(rate)), holdings)


__all__ = ["SCALE", "Wallet", "wallet"]
