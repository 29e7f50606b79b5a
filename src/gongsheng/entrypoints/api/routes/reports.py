"""The operator's KPIs (MODEL.md section 8) per period."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gongsheng.entrypoints.api.deps import AdminUser, Digits, PlatformDep
from gongsheng.entrypoints.api.schemas import KpisOut
from gongsheng.services import reports

router = APIRouter(tags=["reports"])


@router.get("/reports/kpis", response_model=KpisOut)
def kpis(_: AdminUser, platform: PlatformDep,
         since: Annotated[int, Query(ge=1, le=10**6), Digits] = 1,
         limit: Annotated[int, Query(ge=1, le=1000), Digits] = 120) -> KpisOut:
    """Figures stored with each closed period, and the open period's live counters (admin)."""
    return KpisOut(**platform.read(lambda c: reports.kpis(c, since, limit)))
