"""Holds on cash earnings: what a party may withdraw now, and what is still held (冻结期).

Availability is derived, never moved: a party's position is its cash balance, less its earnings
of the periods still in the open period's hold window (``domain.holds``), read in one statement
of O(hold_periods) rows. A close changes nothing here; the next period's number alone releases
what the window left behind.
"""

from __future__ import annotations

from gongsheng.domain.holds import CashPosition, available_from, first_held_period
from gongsheng.domain.policy import Policy
from gongsheng.services.ports.ledger import LedgerStore
from gongsheng.services.ports.work import Stores
from gongsheng.services.unit_of_work import Connection, stores_on


def position_in(ledger: LedgerStore, party_id: int, period: int, policy: Policy) -> CashPosition:
    """The party's cash balance, held and available in open period ``period`` under ``policy``."""
    balance, earned = ledger.cash_and_recent_earnings(
        party_id, first_held_period(period, policy.hold_periods))
    return CashPosition.of(balance, earned, policy.hold_periods)


def position(stores: Stores, party_id: int) -> CashPosition:
    """The party's cash position now, under the open period's policy."""
    period = stores.periods.open_period()
    return position_in(stores.ledger, party_id, period.seq,
                       stores.policies.version(period.policy_version_id))


def cash_position(conn: Connection, party_id: int) -> CashPosition:
    """:func:`position` on a connection (for the use cases not on the stores yet)."""
    return position(stores_on(conn), party_id)


def holds_view(position: CashPosition) -> list[dict[str, int]]:
    """The held earnings per period, with the first period they may be withdrawn in."""
    return [{"earned_in_period": p, "held_fen": fen,
             "available_from_period": available_from(p, position.hold_periods)}
            for p, fen in position.held_by_period.items()]
