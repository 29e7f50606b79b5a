"""Wallets: a holder's points, holdings, vouchers and projected completion.

Reading a wallet settles the holder first (lazy settlement), so the figures are current. The
projection is at the last period's release rate and is labelled as such: never a promise. A
frozen holder is not settled; its wallet shows what waits for it. Cash is shown as held and
available apart (``services.holds``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gongsheng.domain.errors import NotFound
from gongsheng.domain.ledger import AccountKind
from gongsheng.domain.release import SCALE, periods_to_complete, rate_as_decimal
from gongsheng.services.forecast_store import holding_bands
from gongsheng.services.holdings import settle_holder
from gongsheng.services.holds import position
from gongsheng.services.ports.work import Stores


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


def party_kind(stores: Stores, party_id: int) -> str:
    """The party's kind (:class:`NotFound` for no such party)."""
    kind = stores.parties.kind(party_id)
    if kind is None:
        raise NotFound(f"party {party_id} does not exist")
    return kind


def _band(band: list[int | None] | None) -> dict[str, int | None] | None:
    return None if band is None else dict(zip(("p10", "p50", "p90"), band, strict=True))


def wallet(stores: Stores, party_id: int, *, alone: bool = False) -> Wallet:
    """Settle the party and return its wallet (the caller commits the settlement).

    ``alone``: the caller's transaction writes nothing but this settlement, which can always be
    derived again, so its commit need not wait for the disk (see ``adapters/locks.lock_books``).
    """
    found = stores.wallets.settling(party_id, alone=alone)
    if found is None:
        raise NotFound(f"party {party_id} does not exist")
    kind, period, rate = found
    settled = settle_holder(stores, party_id, period)
    held = settled.holdings + stores.holdings.holdings(party_id, later_than=period)
    bal = settled.balances
    bands = holding_bands(stores) if held else {}
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
    cash = position(stores, party_id)
    return Wallet(party_id, kind, bal[AccountKind.POINTS], bal[AccountKind.VOUCHERS],
                  bal[AccountKind.VOUCHER_DEBT], bal[AccountKind.CASH], bal[AccountKind.UNITS],
                  str(rate_as_decimal(rate)), holdings, frozen=stores.freezes.is_frozen(party_id),
                  vouchers_withheld_fen=withheld, cash_held_fen=cash.held_fen,
                  cash_available_fen=cash.available_fen)


__all__ = ["SCALE", "Wallet", "party_kind", "wallet"]
