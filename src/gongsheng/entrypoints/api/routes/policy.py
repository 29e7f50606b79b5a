"""Policy versions: list them; upload a new one, active from the next period."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import AdminUser, CurrentUser, PlatformDep
from gongsheng.entrypoints.api.schemas import PolicyIn, PolicyScheduled, PolicyVersions
from gongsheng.services import policies

router = APIRouter(tags=["policy"])


@router.get("/policy/versions", response_model=PolicyVersions)
def list_versions(_: CurrentUser, platform: PlatformDep) -> PolicyVersions:
    """Every stored policy version and the one the open period uses."""
    return PolicyVersions(**platform.read(policies.versions))


@router.post("/policy/versions", status_code=201, response_model=PolicyScheduled)
def upload_version(body: PolicyIn, _: AdminUser, platform: PlatformDep) -> PolicyScheduled:
    """Validate a policy (TOML) and activate it from the next period (admin)."""
    return PolicyScheduled(**platform.run(policies.schedule_toml, body.toml))
