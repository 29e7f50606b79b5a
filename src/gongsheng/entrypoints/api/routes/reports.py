"""The operator's KPIs (MODEL.md section 8) per period, and the stored forecast."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gongsheng.adapters.signing_key import load_or_create
from gongsheng.domain.errors import NotFound
from gongsheng.entrypoints.api.deps import Digits, PlatformDep
from gongsheng.entrypoints.api.integration_access import PlatformReportsReader
from gongsheng.entrypoints.api.schemas import KpisOut
from gongsheng.services import forecast_store
from gongsheng.services.unit_of_work import stores_on
from gongsheng.settings import Settings
from gongsheng.views import reports
from gongsheng.views.attestation import signed_attestation

router = APIRouter(tags=["reports"])


@router.get("/reports/kpis", response_model=KpisOut)
def kpis(_: PlatformReportsReader, platform: PlatformDep,
         since: Annotated[int, Query(ge=1, le=10**6), Digits] = 1,
         limit: Annotated[int, Query(ge=1, le=1000), Digits] = 120) -> KpisOut:
    """Figures stored with each closed period, and the open period's live counters (admin)."""
    return KpisOut(**platform.read(lambda c: reports.kpis(c, since, limit)))


@router.get("/reports/forecast")
def forecast(_: PlatformReportsReader, platform: PlatformDep) -> dict[str, Any]:
    """The forecast stored after the last close: p10-p50-p90 bands; a projection, not a promise (admin)."""
    stored = platform.read(lambda conn: forecast_store.latest(stores_on(conn)))
    if stored is None:
        raise NotFound("no forecast is stored yet: one is computed after the first close")
    return stored


@router.get("/reports/attestation")
def attestation(_: PlatformReportsReader, platform: PlatformDep, request: Request,
                period: Annotated[int | None, Query(ge=1, le=10**6), Digits] = None) -> Response:
    """The signed compliance attestation of a closed period (the last closed one by default),
    as canonical JSON that ``gongsheng attest --verify`` checks offline (admin)."""
    settings: Settings = request.app.state.settings
    key = load_or_create(settings.attestation_key_file)
    document = platform.read(lambda c: signed_attestation(c, key, period))
    return Response(document, media_type="application/json")
