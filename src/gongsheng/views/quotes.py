"""Order quotes (报价): what an order would get if placed now, with nothing written.

For a POS screen that shows the consumer what it will earn. The quote runs the order path's own
pure computation (:func:`gongsheng.services.ordering.compute_order`: the waterfall, the points,
the voucher cost) on the same reads (open period, policy, the order's context), so a quote and
the order placed right after it with the same figures agree, as long as nothing they read
changed in between (a close, a first order elsewhere, a new partner). It spends nothing and
claims nothing: the voucher part is checked against the rules of the channel and the merchant,
not against the consumer's balance, which the order checks when it is placed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from gongsheng.adapters.policy_store import current_policy
from gongsheng.domain.errors import GongshengError
from gongsheng.domain.orders import check_voucher_terms
from gongsheng.services.ordering import OrderRequest, allocation_dicts, compute_order
from gongsheng.services.unit_of_work import stores_on

QUOTE_KEY = "quote"
"""The idempotency key a quote's request carries (never written)."""


@dataclass(frozen=True)
class Quote:
    """The figures an order would get: concession, waterfall, points, voucher cost."""

    period: int
    consumer_id: int
    merchant_id: int
    channel: str
    amount_fen: int
    voucher_fen: int
    voucher_cost_fen: int
    concession_rate: str
    concession_fen: int
    allocations: tuple[dict[str, Any], ...]
    pool_fen: int
    consumer_cpts: int
    merchant_cpts: int
    referrer_id: int | None
    referrer_cpts: int
    first_order: bool


def quote_order(conn: Connection, consumer_id: int, merchant_id: int, amount_fen: int,
                voucher_fen: int = 0) -> Quote:
    """The quote of an order of ``amount_fen`` (``voucher_fen`` of it in vouchers)."""
    req = OrderRequest(consumer_id, merchant_id, amount_fen, voucher_fen, QUOTE_KEY)
    req.validate()
    period, policy = current_policy(conn)
    ctx = stores_on(conn).orders.contexts([(consumer_id, merchant_id)])[(consumer_id, merchant_id)]
    if isinstance(ctx, GongshengError):
        raise ctx
    check_voucher_terms(policy, amount_fen, voucher_fen, at_mall=ctx.merchant_channel == "mall",
                        merchant_accepts=ctx.accepts_vouchers)  # the seller's rules; no balance
    first = ctx.first_order_pending
    rows = compute_order(req, "", period, policy, ctx, first)
    o = rows.order
    return Quote(
        period=period.seq, consumer_id=consumer_id, merchant_id=merchant_id,
        channel=o["channel"], amount_fen=amount_fen, voucher_fen=voucher_fen,
        voucher_cost_fen=o["voucher_cost_fen"], concession_rate=o["concession_rate"],
        concession_fen=o["concession_fen"],
        allocations=allocation_dicts(rows.parts),
        pool_fen=o["pool_fen"], consumer_cpts=o["consumer_cpts"],
        merchant_cpts=o["merchant_cpts"], referrer_id=o["referrer_id"],
        referrer_cpts=o["referrer_cpts"], first_order=first)
