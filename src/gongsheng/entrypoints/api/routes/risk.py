"""Risk flags: release below nominal, coverage, pool coverage, and abuse patterns."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import AdminUser, PlatformDep
from gongsheng.entrypoints.api.schemas import RiskOut
from gongsheng.services import risk
from gongsheng.services.unit_of_work import stores_on

router = APIRouter(tags=["reports"])


@router.get("/risk", response_model=RiskOut)
def risk_flags(_: AdminUser, platform: PlatformDep) -> RiskOut:
    """The last close's risk flags and abuse seen in the open period (admin)."""
    return RiskOut(**platform.read(lambda conn: risk.risk(stores_on(conn))))
