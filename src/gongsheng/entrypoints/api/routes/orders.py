"""Orders (reported by the merchant or payment side, never the consumer) and their refunds.

An order's voucher part needs the consumer's pay code. An order that is not the caller's
answers exactly as an order that does not exist (404), so order ids tell nobody what exists.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from gongsheng.domain.errors import Forbidden, NotFound
from gongsheng.entrypoints.api.auth import Principal
from gongsheng.entrypoints.api.deps import (
    Before,
    IdempotencyKey,
    Limit,
    Offset,
    OrderId,
    PlatformDep,
    actor_of,
)
from gongsheng.entrypoints.api.integration_access import (
    OrdersWriter,
    RefundsWriter,
    ReportsReader,
)
from gongsheng.entrypoints.api.observability.metrics import ORDERS, REFUNDS, count_written
from gongsheng.entrypoints.api.responses import REPLAYED, written
from gongsheng.entrypoints.api.schemas import OrderIn, OrderOut, OrderPage, RefundIn, RefundOut
from gongsheng.services.ordering import OrderRequest, get_order
from gongsheng.services.platform import Platform
from gongsheng.views import reports

router = APIRouter(tags=["orders"])


@router.post("/orders", status_code=201, response_model=OrderOut,
             responses={200: {"model": OrderOut, "description": REPLAYED}})
def place_order(body: OrderIn, key: IdempotencyKey, user: OrdersWriter,
                platform: PlatformDep) -> Response:
    """Place an order (admin, the merchant itself, or a key with ``orders:write``); a voucher
    part needs the consumer's ``pay_code``. Returns concession, waterfall and points."""
    if not (user.admin or (user.role == "merchant" and user.party_id == body.merchant_id)):
        raise Forbidden("orders come from the merchant or payment side: only the merchant "
                        "itself (or an admin) may report an order at this merchant")
    result = platform.order(OrderRequest(body.consumer_id, body.merchant_id, body.amount_fen,
                                         body.voucher_fen, key, body.pay_code,
                                         body.payment_ref, body.device_id))
    count_written(ORDERS, replayed=result.replayed)
    return written(OrderOut.model_validate(result, from_attributes=True), replayed=result.replayed)


@router.get("/orders", response_model=OrderPage)
def list_orders(user: ReportsReader, platform: PlatformDep, limit: Limit = 50,
                offset: Offset = 0, before: Before = None) -> OrderPage:
    """Orders, newest first: all for an admin, a consumer's or merchant's own otherwise.

    Paged by key: pass ``next_before`` as ``before`` for the next page; its cost does not grow
    with how far back the page is (``offset`` other than 0 is refused)."""
    if not (user.admin or user.role in ("consumer", "merchant")):
        raise Forbidden(f"a {user.role} has no orders of its own; see its statement instead")
    consumer = user.party_id if user.role == "consumer" else None
    merchant = user.party_id if user.role == "merchant" else None
    found = platform.read(lambda c: reports.list_orders(
        c, consumer_id=consumer, merchant_id=merchant, limit=limit, before=before))
    return OrderPage(items=[OrderOut.model_validate(o, from_attributes=True) for o in found.items],
                     **OrderPage.fields_of(found, limit))


def _parties(platform: Platform, user: Principal, order_id: int) -> tuple[int, int]:
    """``(consumer, merchant)`` of an order the caller may see; an order that is another's is
    answered as if it did not exist."""
    try:
        parties: tuple[int, int] | None = platform.read(reports.order_parties, order_id)
    except NotFound:
        parties = None
    if parties is None or not (user.owns(parties[0]) or user.owns(parties[1])):
        raise NotFound(f"order {order_id} does not exist" if user.admin
                       else f"you have no order {order_id}")
    return parties


@router.get("/orders/{order_id}", response_model=OrderOut)
def read_order(order_id: OrderId, user: ReportsReader, platform: PlatformDep) -> OrderOut:
    """One order (its consumer, its merchant, or an admin; 404 for anyone else's)."""
    _parties(platform, user, order_id)
    return OrderOut.model_validate(platform.read(get_order, order_id), from_attributes=True)


@router.post("/orders/{order_id}/refunds", status_code=201, response_model=RefundOut,
             responses={200: {"model": RefundOut, "description": REPLAYED}})
def refund_order(order_id: OrderId, body: RefundIn, key: IdempotencyKey, user: RefundsWriter,
                 platform: PlatformDep) -> Response:
    """Refund part or all of an order (its merchant or an admin); reverses every part pro rata."""
    _, merchant = _parties(platform, user, order_id)
    if not (user.admin or (user.role == "merchant" and user.party_id == merchant)):
        raise Forbidden(f"only the merchant of order {order_id} (or an admin) may refund it")
    if user.admin:  # an operator reversing a merchant's sale: audited, with its actor
        result = platform.as_actor(actor_of(user)).refund(order_id, body.amount_fen, key,
                                                          by_operator=True)
    else:
        result = platform.refund(order_id, body.amount_fen, key)
    count_written(REFUNDS, replayed=result.replayed)
    return written(RefundOut.model_validate(result, from_attributes=True), replayed=result.replayed)
