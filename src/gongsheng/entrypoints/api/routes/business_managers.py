"""Business managers (商务经理): registration and the merchants bound to one."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import (
    ActingPlatform,
    AdminUser,
    Before,
    CurrentUser,
    Limit,
    PartyId,
    PlatformDep,
)
from gongsheng.entrypoints.api.routes._register import register
from gongsheng.entrypoints.api.schemas import BmMerchants, BusinessManagerIn, PartyOut
from gongsheng.services import registry
from gongsheng.views import reports

router = APIRouter(tags=["parties"])


@router.post("/business-managers", status_code=201, response_model=PartyOut)
def create_business_manager(body: BusinessManagerIn, _: AdminUser, platform: ActingPlatform) -> PartyOut:
    """Register a business manager (admin)."""
    return register(platform, lambda uow: registry.create_business_manager(uow, body.name), "bm",
                    body.login)


@router.get("/business-managers/{party_id}/merchants", response_model=BmMerchants)
def bound_merchants(party_id: PartyId, user: CurrentUser, platform: PlatformDep,
                    limit: Limit = 50, before: Before = None) -> BmMerchants:
    """The merchants bound to a business manager, newest first, paged by key
    (``next_before``), and its commissions (the BM itself or admin)."""
    user.require_own(party_id, "this business manager's merchants")
    found = platform.read(lambda c: reports.bm_merchants(c, party_id, limit=limit, before=before))
    page = found["page"]
    return BmMerchants(bm_id=party_id, commissions_fen=found["commissions_fen"],
                       merchant_count=found["merchant_count"], merchants=page.items,
                       **BmMerchants.fields_of(page, limit))
