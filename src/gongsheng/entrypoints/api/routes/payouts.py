"""Payouts: withdrawals of cash balances above the policy's threshold."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gongsheng.domain.errors import InvalidInput
from gongsheng.entrypoints.api.deps import ActingPlatform, CurrentUser, IdempotencyKey
from gongsheng.entrypoints.api.responses import REPLAYED, written
from gongsheng.entrypoints.api.schemas import PayoutIn, PayoutOut

router = APIRouter(tags=["payouts"])


@router.post("/payouts", status_code=201, response_model=PayoutOut,
             responses={200: {"model": PayoutOut, "description": REPLAYED}})
def withdraw(body: PayoutIn, key: IdempotencyKey, user: CurrentUser,
             platform: ActingPlatform) -> Response:
    """Withdraw cash (the party itself, or an admin naming the party)."""
    party = body.party_id if body.party_id is not None else user.party_id
    if party is None:
        raise InvalidInput("party_id is required when an admin requests a payout")
    user.require_own(party, "this cash balance")
    result = platform.withdraw(party, body.amount_fen, key)
    return written(PayoutOut.model_validate(result, from_attributes=True), replayed=result.replayed)
