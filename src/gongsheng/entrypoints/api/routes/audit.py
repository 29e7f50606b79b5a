"""The audit trail: who did what, when, through which request (admin; append-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gongsheng.entrypoints.api.deps import AdminUser, PlatformDep
from gongsheng.entrypoints.api.schemas_integration import AuditPageOut
from gongsheng.views import audit

router = APIRouter(tags=["audit"])
Name = Annotated[str | None, Query(min_length=1, max_length=200)]
Time = Annotated[str | None, Query(max_length=40, description="ISO 8601 time (UTC if no zone)")]


@router.get("/audit-log", response_model=AuditPageOut)
def audit_log(
    _: AdminUser, platform: PlatformDep, actor: Name = None, action: Name = None,
    target: Name = None, since: Time = None, until: Time = None,
    after: Annotated[str | None, Query(max_length=40, description="the cursor of the page to "
                                       "continue from (the last page's next_cursor)")] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE, description="page size")] = 50,
) -> AuditPageOut:
    """Operator actions newest first, filtered by actor, action, target, ``since`` (inclusive)
    and ``until`` (exclusive); page on with ``after=next_cursor`` (keyset, never repeats or skips)."""
    where = audit.AuditFilter(actor, action, target, audit.parse_time(since, "since"),
                              audit.parse_time(until, "until"))
    page = platform.read(lambda c: audit.audit_log(c, where, after, limit))
    return AuditPageOut.model_validate({"items": page.items, "next_cursor": page.next_cursor})
