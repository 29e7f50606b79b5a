"""Risk flags: release below nominal, coverage, pool coverage, and abuse patterns."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import AdminUser, PlatformDep
from gongsheng.entrypoints.api.schemas import RiskOut
from gongsheng.services import risk

router = APIRouter(tags=["reports"])


@router.get("/risk", response_model=RiskOut)
def risk_flags(_: AdminUser, platform: PlatformDep) -> RiskOut:
    """The last close's risk flags and abuse seen in the open period (admin)."""
    return RiskOut(**platform.read(risk.risk))
