"""Ground promoters (地推), members of a partner's team."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import ActingPlatform, CurrentUser
from gongsheng.entrypoints.api.routes._register import register
from gongsheng.entrypoints.api.schemas import PartyOut, PromoterIn
from gongsheng.services import registry

router = APIRouter(tags=["parties"])


@router.post("/promoters", status_code=201, response_model=PartyOut)
def create_promoter(body: PromoterIn, user: CurrentUser, platform: ActingPlatform) -> PartyOut:
    """Register a promoter in a partner's team (admin, or that partner for its own team)."""
    if not (user.admin or (user.role == "partner" and user.party_id == body.partner_id)):
        user.require_admin()
    return register(platform, lambda uow: registry.create_promoter(uow, body.name, body.partner_id),
                    "promoter", body.login)
