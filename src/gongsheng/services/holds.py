"""Holds on cash earnings: what a party may withdraw now, and what is still held (冻结期).

Availability is derived, never moved: a party's position is its cash balance, less its earnings
of the periods still in the open period's hold window (``domain.holds``), read in one statement
of O(hold_periods) rows. A close changes nothing here; the next period's number alone releases
what the window left behind.
"""

from __future__ import annotations

from sqlalchemy import Connection

from gongsheng.adapters.earnings_store import cash_and_recent_earnings
from gongsheng.domain.holds import CashPosition, available_from, first_held_period
from gongsheng.services.books import current_policy


def cash_position(conn: Connection, party_id: int) -> CashPosition:
    """The party's cash balance, held and available now, under the open period's policy."""
    period, policy = current_policy(conn)
    balance, earned = cash_and_recent_earnings(
        conn, party_id, first_held_period(period.seq, policy.hold_periods))
    return CashPosition.of(balance, earned, policy.hold_periods)


def holds_view(position: CashPosition) -> list[dict[str, int]]:
    """The held earnings per period, with the first period they may be withdrawn in."""
    return [{"earned_in_period": p, "held_fen": fen,
             "available_from_period": available_from(p, position.hold_periods)}
            for p, fen in position.held_by_period.items()]
