"""The operator's audit page: the audit log newest first, filtered, paged by cursor (admin)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gongsheng.domain.errors import Forbidden
from gongsheng.entrypoints.api.deps import PlatformDep
from gongsheng.entrypoints.web.routes import ViewerDep, WebRoute, render
from gongsheng.views import audit

router = APIRouter(include_in_schema=False, route_class=WebRoute)
PAGE = 50
Text = Annotated[str, Query(max_length=200)]
Time = Annotated[str, Query(max_length=40)]


@router.get("/admin/audit")
def audit_page(request: Request, viewer: ViewerDep, platform: PlatformDep, actor: Text = "",
               action: Text = "", target: Text = "", since: Time = "", until: Time = "",
               after: Annotated[str, Query(max_length=40)] = "") -> HTMLResponse:
    """Who did what, when: every operator action, filtered by actor, action, target and time."""
    if not viewer.principal.admin:
        raise Forbidden("this page is for the platform's operators")
    chosen = {"actor": actor.strip(), "action": action.strip(), "target": target.strip(),
              "since": since.strip(), "until": until.strip()}
    where = audit.AuditFilter(chosen["actor"] or None, chosen["action"] or None,
                              chosen["target"] or None, audit.parse_time(chosen["since"], "since"),
                              audit.parse_time(chosen["until"], "until"))
    page = platform.read(lambda c: audit.audit_log(c, where, after or None, PAGE))
    kept = {k: v for k, v in chosen.items() if v}
    more = f"/admin/audit?{urlencode({**kept, 'after': page.next_cursor})}" if page.next_cursor else None
    first = f"/admin/audit?{urlencode(kept)}" if after else None
    return render(request, "admin_audit.html", {"page": page, "chosen": chosen, "more": more,
                                                "first": first}, default_lang="en", viewer=viewer)
