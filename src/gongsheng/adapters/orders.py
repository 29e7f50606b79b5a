"""The order store on SQL: placed orders and their refunds (``tables.orders``, ``refunds``), as
one :class:`~gongsheng.services.ports.orders.OrderStore`.

The order row lock (``lock=True``) is PostgreSQL's ``FOR UPDATE``; SQLite has one writer and
ignores it. A refund's entry is posted with its striped rows (the earnings of the order's
period, the merchant's refund totals), in one statement on PostgreSQL (``ledger_store.post``).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from gongsheng.adapters import locks, order_start
from gongsheng.adapters import tables as t
from gongsheng.adapters.earnings_store import earnings_rows
from gongsheng.adapters.ledger_store import post
from gongsheng.adapters.order_start import StoredOrder
from gongsheng.adapters.order_store import refund_totals, write_orders
from gongsheng.adapters.pg_arrays import among
from gongsheng.adapters.risk_store import lock_velocity
from gongsheng.domain.errors import GongshengError
from gongsheng.domain.events import Recorded
from gongsheng.domain.holds import cash_earnings
from gongsheng.domain.ledger import JournalEntry
from gongsheng.domain.orders import Counts, OrderContext, OrderRows, OrderStart, Written
from gongsheng.domain.policy import Recipient
from gongsheng.domain.refunds import OrderRecord, RefundRecord
from gongsheng.domain.waterfall import Allocation

_stripes = random.Random()
_o, _r = t.orders, t.refunds


def order_record(row: Any) -> OrderRecord:
    """An ``orders`` row as the domain reads it (its allocations parsed)."""
    referrer = row.referrer_id
    return OrderRecord(
        int(row.id), int(row.consumer_id), int(row.merchant_id),
        None if referrer is None else int(referrer), str(row.channel), int(row.period),
        int(row.policy_version_id), int(row.amount_fen), int(row.voucher_fen),
        int(row.voucher_cost_fen), int(row.concession_fen), int(row.pool_fen),
        tuple(Allocation(p, Recipient(r), pid, a) for p, r, pid, a in json.loads(row.allocations)),
        int(row.consumer_cpts), int(row.merchant_cpts), int(row.referrer_cpts),
        int(row.refunded_fen))


def refund_record(row: Any) -> RefundRecord:
    """A ``refunds`` row as the domain reads it."""
    return RefundRecord(int(row.id), int(row.order_id), int(row.amount_fen), int(row.period),
                        int(row.clawback_fen), int(row.platform_cover_fen), str(row.request_hash))


class SqlOrderStore:
    """:class:`~gongsheng.services.ports.orders.OrderStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def order(self, order_id: int, *, lock: bool = False) -> OrderRecord | None:
        query = select(_o).where(_o.c.id == order_id)
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        return None if row is None else order_record(row)

    def lock_refund(self, order_id: int) -> None:
        if not locks.postgres(self.conn):
            return  # one writer at a time: lock_adjustments takes nothing there
        placed = self.order(order_id)  # unlocked: holders and pool take never change
        if placed is None:
            locks.lock_adjustments(self.conn)
        else:
            locks.lock_adjustments(self.conn, placed.holders, pool_take=placed.pool_take)

    def refund(self, key: str) -> RefundRecord | None:
        row = self.conn.execute(select(_r).where(_r.c.idem_key == key)).first()
        return None if row is None else refund_record(row)

    def refunded_before(self, order_id: int, refund_id: int) -> int:
        return int(self.conn.execute(
            select(func.coalesce(func.sum(_r.c.amount_fen), 0)).where(
                _r.c.order_id == order_id, _r.c.id < refund_id)).scalar_one())

    def add_refund(self, key: str, request_hash: str, order_id: int, amount_fen: int,
                   period: int, platform_cover_fen: int) -> int:
        refund_id = int(self.conn.execute(insert(_r).returning(_r.c.id), {
            "idem_key": key, "request_hash": request_hash, "order_id": order_id,
            "amount_fen": amount_fen, "period": period,
            "platform_cover_fen": platform_cover_fen}).scalar_one())
        self.conn.execute(update(_o).where(_o.c.id == order_id)
                          .values(refunded_fen=_o.c.refunded_fen + amount_fen))
        return refund_id

    def post_refund(self, entry: JournalEntry, period: int, refund_id: int,
                    order: OrderRecord, amount_fen: int) -> None:
        stripe = _stripes.randrange(t.STRIPES)
        held = earnings_rows(cash_earnings((p.account, p.asset, p.amount) for p in entry.postings),
                             order.period, stripe)
        totals = refund_totals(order.merchant_id, order.period, period, amount_fen, entry, stripe)
        post(self.conn, entry, period, refund_id, along=[held, totals])

    def set_clawback(self, refund_id: int, clawback_fen: int) -> None:
        self.conn.execute(update(_r).where(_r.c.id == refund_id).values(clawback_fen=clawback_fen))

    def begin(self, consumer_id: int, merchant_id: int, key: str) -> OrderStart | StoredOrder:
        return order_start.begin(self.conn, consumer_id, merchant_id, key)

    def by_id(self, order_id: int) -> StoredOrder | None:
        row = self.conn.execute(select(_o).where(_o.c.id == order_id)).first()
        return None if row is None else dict(row._mapping)

    def by_key(self, key: str) -> StoredOrder | None:
        return order_start.order_by_key(self.conn, key)

    def by_keys(self, keys: Sequence[str]) -> dict[str, StoredOrder]:
        if not keys:
            return {}
        return {str(row.idem_key): dict(row._mapping) for row in self.conn.execute(
            select(_o).where(among(self.conn, _o.c.idem_key, list(keys))))}

    def contexts(self, pairs: Sequence[tuple[int, int]]
                 ) -> dict[tuple[int, int], OrderContext | GongshengError]:
        return order_start.contexts(self.conn, pairs)

    def claim_first_orders(self, keys: dict[int, str]) -> set[int]:
        return order_start.claim_first_orders(self.conn, keys)

    def lock_velocity(self, consumer_id: int) -> None:
        lock_velocity(self.conn, consumer_id)

    def write(self, batch: Sequence[OrderRows], events: Sequence[Recorded],
              caps: tuple[int | None, int | None] | None,
              refuse: Callable[[OrderRows, Counts], None]) -> Written:
        return write_orders(self.conn, batch, events, caps, refuse)

    def use_pay_code(self, code_hash: str, *, consumer_id: int, merchant_id: int,
                     voucher_fen: int, key: str, at: dt.datetime) -> bool:
        p = t.pay_codes
        return self.conn.execute(
            update(p).where(p.c.code_hash == code_hash, p.c.used_key.is_(None),
                            p.c.consumer_id == consumer_id, p.c.expires_at > at,
                            p.c.max_voucher_fen >= voucher_fen,
                            p.c.merchant_id.is_(None) | (p.c.merchant_id == merchant_id))
            .values(used_key=key, used_at=at)).rowcount == 1
