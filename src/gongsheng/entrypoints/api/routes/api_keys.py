"""Integration keys (admin): issue one (its secret shown once), list them, revoke one."""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from gongsheng.entrypoints.api.deps import MAX_ID, AdminUser, PlatformDep
from gongsheng.entrypoints.api.schemas_api_keys import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyList,
    ApiKeyOut,
)
from gongsheng.services import api_keys

router = APIRouter(tags=["api-keys"])
KeyId = Annotated[int, Path(ge=1, le=MAX_ID, description="a key's id")]


def _now() -> int:
    return int(time.time() * 1000)


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated)
def create_api_key(body: ApiKeyIn, user: AdminUser, platform: PlatformDep) -> ApiKeyCreated:
    """Issue a key (admin); the answer carries its secret, which is never shown again."""
    issued = platform.run(api_keys.issue_key, body.label, [s.value for s in body.scopes],
                          now_ms=_now(), party_id=body.party_id, expires_ms=body.expires_ms(),
                          rate_limit=body.rate_limit, created_by=user.account_id)
    return ApiKeyCreated(**dataclasses.asdict(issued.key), secret=issued.secret)


@router.get("/api-keys", response_model=ApiKeyList)
def list_api_keys(_: AdminUser, platform: PlatformDep,
                  revoked: Annotated[bool, Query(description="include revoked keys")] = True,
                  ) -> ApiKeyList:
    """Every key with its scopes, party, expiry, last use and status (admin; no secrets)."""
    found = platform.read(lambda c: api_keys.list_keys(c, now_ms=_now(), include_revoked=revoked))
    return ApiKeyList(items=[ApiKeyOut(**dataclasses.asdict(k)) for k in found])


@router.delete("/api-keys/{key_id}", status_code=204)
def revoke_api_key(key_id: KeyId, _: AdminUser, platform: PlatformDep) -> Response:
    """Revoke a key (admin): refused from its next request on; revoking twice changes nothing."""
    platform.run(api_keys.revoke_key, key_id, now_ms=_now())
    return Response(status_code=204)
