"""The ledger store on SQL: entries and balances (``ledger_store``), cash positions
(``earnings_store``) and the cash lock (``locks``), as one
:class:`~gongsheng.services.ports.ledger.LedgerStore`."""

from __future__ import annotations

from sqlalchemy import Connection

from gongsheng.adapters.earnings_store import cash_and_recent_earnings
from gongsheng.adapters.ledger_store import balance, party_balances, post, system_balance
from gongsheng.adapters.locks import lock_cash
from gongsheng.domain.ledger import AccountKind, Asset, JournalEntry


class SqlLedgerStore:
    """:class:`~gongsheng.services.ports.ledger.LedgerStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def post(self, entry: JournalEntry, period: int, ref_id: int | None = None) -> int:
        return post(self.conn, entry, period, ref_id)

    def balance(self, account: int, asset: Asset) -> int:
        return balance(self.conn, account, asset)

    def system_balance(self, kind: AccountKind) -> int:
        return system_balance(self.conn, kind)

    def party_balances(self, party_id: int) -> dict[AccountKind, int]:
        return party_balances(self.conn, party_id)

    def cash_and_recent_earnings(self, party_id: int, since: int) -> tuple[int, dict[int, int]]:
        return cash_and_recent_earnings(self.conn, party_id, since)

    def lock_cash(self, account: int) -> None:
        lock_cash(self.conn, account)
