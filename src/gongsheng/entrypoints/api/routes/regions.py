"""Regions (province > city > district) with their estimated merchant universe."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import ActingPlatform, AdminUser
from gongsheng.entrypoints.api.schemas import RegionIn, RegionOut

router = APIRouter(tags=["parties"])


@router.post("/regions", status_code=201, response_model=RegionOut)
def create_region(body: RegionIn, _: AdminUser, platform: ActingPlatform) -> RegionOut:
    """Create a region (admin)."""
    region = platform.region(body.name, body.level, body.parent_id, body.merchant_universe)
    return RegionOut(region_id=region, name=body.name.strip(), level=body.level,
                     parent_id=body.parent_id, merchant_universe=body.merchant_universe)
