"""Policy versions: list them; upload a new one, active from the next period, or dry-run it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from gongsheng.entrypoints.api.deps import ActingPlatform, AdminUser, CurrentUser, PlatformDep
from gongsheng.entrypoints.api.schemas import PolicyIn, PolicyScheduled, PolicyVersions
from gongsheng.services import policies
from gongsheng.services.unit_of_work import stores_on

router = APIRouter(tags=["policy"])


@router.get("/policy/versions", response_model=PolicyVersions)
def list_versions(_: CurrentUser, platform: PlatformDep) -> PolicyVersions:
    """Every stored policy version and the one the open period uses."""
    return PolicyVersions(**platform.read(lambda conn: policies.versions(stores_on(conn))))


@router.post("/policy/versions", status_code=201, response_model=PolicyScheduled,
             responses={200: {"description": "dry run: the forecast under the policy beside the "
                                              "current one; nothing stored"}})
def upload_version(body: PolicyIn, _: AdminUser, platform: ActingPlatform,
                   dry_run: Annotated[bool, Query()] = False) -> Any:
    """Validate a policy (TOML) and activate it from the next period (admin); ``dry_run`` previews it."""
    if dry_run:
        from gongsheng.entrypoints.forecasting import preview

        policy = policies.parse_policy(body.toml)
        return JSONResponse(preview(platform, policy, runs=DRY_RUN_RUNS))
    return PolicyScheduled(**platform.run(policies.schedule_toml, body.toml))


DRY_RUN_RUNS = 30
"""Monte Carlo runs of each side of an API dry run (the command line takes ``--runs``)."""
