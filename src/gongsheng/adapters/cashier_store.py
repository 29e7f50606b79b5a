"""What the cashier reads: ``tables.merchants`` (the till) and ``tables.pay_codes``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select

from gongsheng.adapters import tables as t

_m, _p = t.merchants, t.pay_codes


class SqlCashierStore:
    """:class:`~gongsheng.services.ports.cashier.CashierStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def till(self, merchant_id: int) -> tuple[str, bool] | None:
        row = self.conn.execute(select(_m.c.channel, _m.c.accepts_vouchers)
                                .where(_m.c.party_id == merchant_id)).first()
        return None if row is None else (str(row.channel), bool(row.accepts_vouchers))

    def code_limit(self, code_hash: str, consumer_id: int, merchant_id: int,
                   now: dt.datetime) -> int | None:
        limit = self.conn.execute(select(_p.c.max_voucher_fen).where(
            _p.c.code_hash == code_hash, _p.c.consumer_id == consumer_id,
            _p.c.used_key.is_(None), _p.c.expires_at > now,
            _p.c.merchant_id.is_(None) | (_p.c.merchant_id == merchant_id))).scalar()
        return None if limit is None else int(limit)
