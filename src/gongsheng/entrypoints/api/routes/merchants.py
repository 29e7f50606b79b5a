"""Merchants: signing one under its category, channel, region, concession and BM contract."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import ActingPlatform, AdminUser
from gongsheng.entrypoints.api.routes._register import register
from gongsheng.entrypoints.api.schemas import MerchantIn, PartyOut
from gongsheng.services import registry

router = APIRouter(tags=["parties"])


@router.post("/merchants", status_code=201, response_model=PartyOut)
def create_merchant(body: MerchantIn, _: AdminUser, platform: ActingPlatform) -> PartyOut:
    """Sign a merchant (admin); 422 when its concession or BM contract breaks the policy."""
    terms = registry.MerchantTerms(
        body.name, body.category, body.channel, body.region_id,
        body.concession_rate.strip() if body.concession_rate else None, body.accepts_vouchers,
        body.bm_id, body.bm_rate.strip() if body.bm_rate else None, body.promoter_id)
    return register(platform, lambda uow: registry.create_merchant(uow, terms), "merchant", body.login)
