"""The cashier: a merchant rings up a sale from an amount and the consumer's code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import Field, StrictStr

from gongsheng.entrypoints.api.deps import CurrentUser, IdempotencyKey, PartyId, PlatformDep
from gongsheng.entrypoints.api.responses import REPLAYED, written
from gongsheng.entrypoints.api.schemas import In, OrderOut
from gongsheng.entrypoints.api.schemas_parties import StrictFen
from gongsheng.services import cashier

router = APIRouter(tags=["orders"])


class SaleIn(In):
    """An amount and the consumer's code as shown on its page (member number, or member number
    and pay code, or the QR's text)."""

    amount_fen: StrictFen
    consumer_code: Annotated[StrictStr, Field(min_length=1, max_length=80)]


@router.post("/merchants/{party_id}/sales", status_code=201, response_model=OrderOut,
             responses={200: {"model": OrderOut, "description": REPLAYED}})
def ring_up(party_id: PartyId, body: SaleIn, key: IdempotencyKey, user: CurrentUser,
            platform: PlatformDep) -> Response:
    """Ring up a sale at the calling merchant: the voucher part is the most the consumer's pay code
    and the channel allow; a refused code reads the same whatever the cause."""
    user.require_own(party_id, "this merchant's cashier")
    result = platform.run(cashier.sell, party_id, body.amount_fen, body.consumer_code, key)
    return written(OrderOut.model_validate(result, from_attributes=True), replayed=result.replayed)
