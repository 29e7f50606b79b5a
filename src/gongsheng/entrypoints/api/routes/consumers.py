"""Consumers: registered by an admin, or self-registered with a login, a referrer and a home
merchant; a consumer's pay codes (its consent to one sale's voucher part)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gongsheng.domain.errors import Forbidden, InvalidInput
from gongsheng.entrypoints.api.auth import Principal
from gongsheng.entrypoints.api.deps import (
    CurrentUser,
    MaybeUser,
    PartyId,
    PlatformDep,
    actor_of,
    count_sign_up,
)
from gongsheng.entrypoints.api.routes._register import register
from gongsheng.entrypoints.api.schemas import (
    ConsumerIn,
    PartyOut,
    PayCodeIn,
    PayCodeOut,
    RevokedOut,
)
from gongsheng.services import pay_codes, registry
from gongsheng.services.unit_of_work import UnitOfWork

router = APIRouter(tags=["parties"])


@router.post("/consumers", status_code=201, response_model=PartyOut)
def create_consumer(body: ConsumerIn, user: MaybeUser, platform: PlatformDep,
                    request: Request) -> PartyOut:
    """Register a consumer: an admin, or anyone signing up with a login (no token needed;
    rate limited per address: 429)."""
    if user is not None:
        user.require_admin()
    elif body.login is None:
        raise InvalidInput("signing up needs a login (username and password)")
    else:
        count_sign_up(request)
    if body.referrer_id is not None and body.referrer_code is not None:
        raise InvalidInput("give referrer_id or referrer_code, not both")
    if user is None and body.referrer_id is not None:  # ids would tell anyone who exists
        raise InvalidInput("signing up names its referrer by referrer_code (the code the "
                           "referrer shared), not by referrer_id")

    def create(uow: UnitOfWork) -> int:
        referrer = body.referrer_id
        if body.referrer_code is not None:
            referrer = registry.consumer_by_referral_code(uow, body.referrer_code.strip())
        return registry.create_consumer(uow, body.name, referrer, body.home_merchant_id)

    return register(platform.as_actor(actor_of(user)), create, "consumer", body.login)


def _the_consumer_itself(user: Principal, consumer_id: int) -> None:
    """Only the consumer acts on its pay codes: not another party, and not an admin (vouchers
    move only by their owner's act). Decided before anything is read, so the answer is the same
    whether or not ``consumer_id`` exists."""
    if not (user.role == "consumer" and user.party_id == consumer_id):
        raise Forbidden("only the consumer itself issues or revokes its pay codes")


@router.post("/consumers/{party_id}/pay-codes", status_code=201, response_model=PayCodeOut)
def issue_pay_code(party_id: PartyId, body: PayCodeIn, user: CurrentUser, request: Request,
                   platform: PlatformDep) -> Response:
    """Issue a one-time pay code for one sale's voucher part (the consumer itself only)."""
    _the_consumer_itself(user, party_id)
    minutes: int = request.app.state.settings.pay_code_minutes
    issued = platform.pay_code(party_id, body.max_voucher_fen, body.merchant_id, minutes * 60)
    out = PayCodeOut(pay_code=issued.code, consumer_id=issued.consumer_id,
                     merchant_id=issued.merchant_id, max_voucher_fen=issued.max_voucher_fen,
                     expires_at=issued.expires_at, expires_in=issued.expires_in).model_dump_json()
    return Response(out, status_code=201, media_type="application/json",
                    headers={"Cache-Control": "no-store"})  # a secret: no cache keeps it


@router.delete("/consumers/{party_id}/pay-codes", response_model=RevokedOut)
def revoke_pay_codes(party_id: PartyId, user: CurrentUser, platform: PlatformDep) -> RevokedOut:
    """Revoke every live pay code of the consumer (the consumer itself only)."""
    _the_consumer_itself(user, party_id)
    return RevokedOut(revoked=platform.run(pay_codes.revoke, party_id))
