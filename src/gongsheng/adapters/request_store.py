"""Where keyed requests are kept: payouts and close requests, unique by their idempotency key."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from gongsheng.adapters import tables as t
from gongsheng.domain.payouts import PayoutRecord


class SqlRequestStore:
    """:class:`~gongsheng.services.ports.requests.RequestStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def payout(self, key: str) -> PayoutRecord | None:
        row = self.conn.execute(select(t.payouts).where(t.payouts.c.idem_key == key)).first()
        if row is None:
            return None
        after = row.balance_after_fen
        return PayoutRecord(int(row.id), int(row.party_id), int(row.amount_fen),
                            None if after is None else int(after), str(row.request_hash))

    def add_payout(self, key: str, request_hash: str, party_id: int, amount_fen: int,
                   period: int, balance_after_fen: int) -> int:
        return int(self.conn.execute(insert(t.payouts).returning(t.payouts.c.id), {
            "idem_key": key, "request_hash": request_hash, "party_id": party_id,
            "amount_fen": amount_fen, "period": period,
            "balance_after_fen": balance_after_fen}).scalar_one())

    def close_request(self, key: str) -> tuple[int, str | None] | None:
        cr = t.close_requests
        row = self.conn.execute(select(cr.c.period, cr.c.request_hash)
                                .where(cr.c.idem_key == key)).first()
        return None if row is None else (int(row.period), row.request_hash)

    def add_close_request(self, key: str, period: int, request_hash: str) -> None:
        self.conn.execute(insert(t.close_requests), {"idem_key": key, "period": period,
                                                     "request_hash": request_hash})

    def action(self, key: str) -> tuple[str, str] | None:
        a = t.action_requests
        row = self.conn.execute(select(a.c.request_hash, a.c.result)
                                .where(a.c.idem_key == key)).first()
        return None if row is None else (str(row.request_hash), str(row.result))

    def add_action(self, key: str, action: str, request_hash: str, answer: str) -> None:
        self.conn.execute(insert(t.action_requests), {"idem_key": key, "action": action,
                                                      "request_hash": request_hash,
                                                      "result": answer})
