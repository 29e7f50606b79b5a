"""Where pay codes are issued and revoked (``tables.pay_codes``; an order uses one through
:meth:`gongsheng.adapters.orders.SqlOrderStore.use_pay_code`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Connection, insert, select, update

from gongsheng.adapters import tables as t

_p = t.pay_codes


def _live(consumer_id: int, at: dt.datetime) -> list[ColumnElement[bool]]:
    return [_p.c.consumer_id == consumer_id, _p.c.used_key.is_(None), _p.c.expires_at > at]


class SqlPayCodeStore:
    """:class:`~gongsheng.services.ports.pay_codes.PayCodeStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock_consumer(self, consumer_id: int) -> bool:
        c = t.consumers
        return self.conn.execute(select(c.c.party_id).where(c.c.party_id == consumer_id)
                                 .with_for_update()).first() is not None

    def merchant_acceptance(self, merchant_id: int) -> tuple[bool, bool] | None:
        m = t.merchants
        row = self.conn.execute(select(m.c.active, m.c.accepts_vouchers)
                                .where(m.c.party_id == merchant_id)).first()
        return None if row is None else (bool(row.active), bool(row.accepts_vouchers))

    def retire_beyond(self, consumer_id: int, keep: int, at: dt.datetime) -> None:
        retire = (select(_p.c.id).where(*_live(consumer_id, at))
                  .order_by(_p.c.id.desc()).offset(keep))
        self.conn.execute(update(_p).where(_p.c.id.in_(retire.scalar_subquery())).values(expires_at=at))

    def add(self, code_hash: str, consumer_id: int, merchant_id: int | None, max_voucher_fen: int,
            expires_at: dt.datetime) -> None:
        self.conn.execute(insert(_p), {"code_hash": code_hash, "consumer_id": consumer_id,
                                       "merchant_id": merchant_id, "max_voucher_fen": max_voucher_fen,
                                       "expires_at": expires_at})

    def revoke(self, consumer_id: int, at: dt.datetime) -> int:
        return int(self.conn.execute(update(_p).where(*_live(consumer_id, at))
                                     .values(expires_at=at)).rowcount)
