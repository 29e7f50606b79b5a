"""Wallets: a holder's points, holdings, vouchers and projected completion.

Reading a wallet settles the holder first (lazy settlement), so the figures are current. The
projection is at the last period's release rate and is labelled as such: never a promise. A
frozen holder is not settled; its wallet shows what waits for it. Cash is shown as held and
available apart (``services.holds``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.freeze_store import is_frozen
from gongsheng.adapters.locks import lock_books
from gongsheng.domain.errors import NotFound
from gongsheng.domain.ledger import AccountKind
from gongsheng.domain.release import SCALE, periods_to_complete, rate_as_decimal
from gongsheng.services.forecast_store import holding_bands
from gongsheng.services.holdings import holdings_of, settle
from gongsheng.services.holds import cash_position


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
    frozen: bool = False
    vouchers_withheld_fen: int = 0
    """Vouchers released to a frozen holder and not settled to it yet (paid when unfrozen)."""
    cash_held_fen: int = 0
    """Cash earned within the policy's hold window: not yet withdrawable (``services.holds``)."""
    cash_available_fen: int = 0
    """Cash that may be withdrawn now (balance less held, never below 0)."""
    projection_note: str = ("periods_to_complete is a projection at the last period's release "
                            "rate, and projected_completion_period the stored forecast's p10-p50-p90 "
                            "band of the period a holding completes in: projections, not promises; "
                            "the rate follows what the pool can pay")


def party_kind(conn: Connection, party_id: int) -> str:
    kind = conn.execute(select(t.parties.c.kind).where(t.parties.c.id == party_id)).scalar_one_or_none()
    if kind is None:
        raise NotFound(f"party {party_id} does not exist")
    return str(kind)


_p = t.periods
_PARTY_AND_PERIOD = (  # the party's kind, the open period, the last period's release rate
    select(t.parties.c.kind,
           select(_p.c.seq).where(_p.c.status == "open").scalar_subquery(),
           select(_p.c.release_rate).where(_p.c.status == "closed")
           .order_by(_p.c.seq.desc()).limit(1).scalar_subquery())
    .where(t.parties.c.id == bindparam("party"))
)


def _band(band: list[int | None] | None) -> dict[str, int | None] | None:
    return None if band is None else dict(zip(("p10", "p50", "p90"), band, strict=True))


def wallet(conn: Connection, party_id: int, *, alone: bool = False) -> Wallet:
    """Settle the party and return its wallet (the caller commits the settlement).

    ``alone``: the caller's transaction writes nothing but this settlement, which can always be
    derived again, so its commit need not wait for the disk (see ``adapters/locks.lock_books``).
    """
    lock_books(conn, derived_only=alone)  # the settlement is stamped with the open period
    row = conn.execute(_PARTY_AND_PERIOD, {"party": party_id}).first()
    if row is None:
        raise NotFound(f"party {party_id} does not exist")
    kind, period, rate = str(row[0]), int(row[1]), int(row[2] or 0)
    settled = settle(conn, party_id, period)
    held = settled.holdings + holdings_of(conn, party_id, later_than=period)
    bal = settled.balances
    bands = holding_bands(conn) if held else {}
    holdings = tuple(
        {"start_period": h.start_period, "cap_multiple": str(h.multiple),
         "points_cpts": h.points_cpts, "cap_fen": h.cap_fen,
         "released_fraction": str(rate_as_decimal(h.fraction)), "released_fen": h.settled_fen,
         "started": h.start_period <= period - 1 or h.fraction > 0,
         "periods_to_complete": periods_to_complete(h.fraction, rate) if h.points_cpts else 0,
         "projected_completion_period": _band(bands.get(h.start_period))}
        for h in held
    )
    withheld = sum(max(0, h.owed_fen - h.settled_fen) for h in settled.holdings)
    position = cash_position(conn, party_id)
    return Wallet(party_id, kind, bal[AccountKind.POINTS], bal[AccountKind.VOUCHERS],
                  bal[AccountKind.VOUCHER_DEBT], bal[AccountKind.CASH], bal[AccountKind.UNITS],
                  str(rate_as_decimal(rate)), holdings, frozen=is_frozen(conn, party_id),
                  vouchers_withheld_fen=withheld, cash_held_fen=position.held_fen,
                  cash_available_fen=position.available_fen)


__all__ = ["SCALE", "Wallet", "wallet"]
