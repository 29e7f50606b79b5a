"""Order quotes: the split and points an order would get; nothing is written."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.domain.errors import Forbidden
from gongsheng.entrypoints.api.deps import PlatformDep
from gongsheng.entrypoints.api.integration_access import OrdersWriter
from gongsheng.entrypoints.api.schemas_integration import QuoteIn, QuoteOut
from gongsheng.views.quotes import quote_order

router = APIRouter(tags=["orders"])


@router.post("/orders/quote", response_model=QuoteOut)
def quote(body: QuoteIn, user: OrdersWriter, platform: PlatformDep) -> QuoteOut:
    """What an order would get now: concession, waterfall, points (admin or the merchant)."""
    if not (user.admin or (user.role == "merchant" and user.party_id == body.merchant_id)):
        raise Forbidden("quotes come from the merchant or payment side: only the merchant "
                        "itself (or an admin) may quote an order at this merchant")
    found = platform.read(lambda c: quote_order(c, body.consumer_id, body.merchant_id,
                                                body.amount_fen, body.voucher_fen))
    out = QuoteOut.model_validate(found, from_attributes=True)
    return out if user.admin else _for_the_merchant(out)


def _for_the_merchant(out: QuoteOut) -> QuoteOut:
    """The quote as the merchant's side may see it: the amounts, but no other party's id (not
    the consumer's referrer, home merchant, BM or partner): what a consumer is linked to is not
    the merchant's to read."""
    return out.model_copy(update={
        "referrer_id": None,
        "allocations": [a if a.party_id == out.merchant_id else a.model_copy(update={"party_id": None})
                        for a in out.allocations]})
