"""Consumers: registered by an admin, or self-registered with a login, a referrer and a home merchant."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gongsheng.domain.errors import InvalidInput
from gongsheng.entrypoints.api.deps import MaybeUser, PlatformDep, count_sign_up
from gongsheng.entrypoints.api.routes._register import register
from gongsheng.entrypoints.api.schemas import ConsumerIn, PartyOut
from gongsheng.services import registry
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

    def create(uow: UnitOfWork) -> int:
        referrer = body.referrer_id
        if body.referrer_code is not None:
            referrer = registry.consumer_by_referral_code(uow, body.referrer_code.strip())
        return registry.create_consumer(uow, body.name, referrer, body.home_merchant_id)

    return register(platform, create, "consumer", body.login)
