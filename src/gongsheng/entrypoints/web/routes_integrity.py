"""The operator's compliance page: a closed period's attestation statements, its seal, and the
signed document to hand to a partner or regulator (admin)."""

from __future__ import annotations

import base64
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from gongsheng.adapters.seal_store import closed_periods
from gongsheng.adapters.signing_key import load_or_create, public_key_file
from gongsheng.domain.attestation import key_id, raw_public_key
from gongsheng.entrypoints.api.deps import PlatformDep
from gongsheng.entrypoints.web import session
from gongsheng.entrypoints.web.routes import ViewerDep, WebRoute, render
from gongsheng.settings import Settings
from gongsheng.views.attestation import signed_attestation

router = APIRouter(include_in_schema=False, route_class=WebRoute)

def require_admin(viewer: session.Viewer) -> None:
    if not viewer.principal.admin:
        raise session.PageError(403, "this page is for the platform's operators")


Period = Annotated[int | None, Query(ge=1, le=10**6)]


def _signed(request: Request, platform: PlatformDep, period: int | None) -> tuple[bytes, str, str]:
    settings: Settings = request.app.state.settings
    key = load_or_create(settings.attestation_key_file)
    public = raw_public_key(key.public_key())
    document = platform.read(lambda c: signed_attestation(c, key, period))
    return document, base64.b64encode(public).decode(), key_id(public)


@router.get("/admin/attestation")
def attestation_page(request: Request, viewer: ViewerDep, platform: PlatformDep,
                     period: Period = None) -> HTMLResponse:
    """Each statement of the period's attestation with its rule and evidence (admin)."""
    require_admin(viewer)
    periods = platform.read(closed_periods)
    if not periods:
        return render(request, "admin_attestation.html", {"body": None, "periods": []},
                      default_lang="en", viewer=viewer)
    document, public, kid = _signed(request, platform, period)
    settings: Settings = request.app.state.settings
    return render(request, "admin_attestation.html", {
        "body": json.loads(document)["attestation"], "periods": periods, "public_key": public,
        "key_id": kid, "public_key_path": str(public_key_file(settings.attestation_key_file))},
        default_lang="en", viewer=viewer)


@router.get("/admin/attestation.json")
def attestation_file(request: Request, viewer: ViewerDep, platform: PlatformDep,
                     period: Period = None) -> Response:
    """The signed document, as ``gongsheng attest --verify`` reads it (admin)."""
    require_admin(viewer)
    document, _, _ = _signed(request, platform, period)
    seq = json.loads(document)["attestation"]["period"]
    return Response(document, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="attestation-period-{seq}.json"'})
