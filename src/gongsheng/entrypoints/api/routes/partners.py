"""City partners: registration and the partner's report (region, dividends vs investment, team)."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import (
    ActingPlatform,
    AdminUser,
    CurrentUser,
    PartyId,
    PlatformDep,
)
from gongsheng.entrypoints.api.routes._register import register
from gongsheng.entrypoints.api.schemas import PartnerIn, PartnerReport, PartyOut
from gongsheng.services import terms
from gongsheng.views import reports

router = APIRouter(tags=["parties"])


@router.post("/partners", status_code=201, response_model=PartyOut)
def create_partner(body: PartnerIn, _: AdminUser, platform: ActingPlatform) -> PartyOut:
    """Register a partner holding a region (admin); 409 if the region is held."""
    return register(platform, lambda uow: terms.assign(
        uow, body.name, body.region_id, body.investment_fen, body.term_periods), "partner", body.login)


@router.get("/partners/{party_id}/report", response_model=PartnerReport)
def partner_report(party_id: PartyId, user: CurrentUser, platform: PlatformDep) -> PartnerReport:
    """A partner's region figures, dividends per period against its investment, and its team."""
    user.require_own(party_id, "this partner report")
    return PartnerReport(**platform.read(reports.partner_report, party_id))
