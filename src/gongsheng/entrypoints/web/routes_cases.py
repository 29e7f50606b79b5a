"""The operator's abuse-case pages: the list (by status), one case, its decision and notes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gongsheng.domain.errors import Forbidden
from gongsheng.entrypoints.api.auth import app_token_key
from gongsheng.entrypoints.api.deps import MAX_ID, PlatformDep
from gongsheng.entrypoints.web import forms, session
from gongsheng.entrypoints.web.routes import ActingPlatform, ViewerDep, WebRoute, render
from gongsheng.services import cases
from gongsheng.services.unit_of_work import stores_on

router = APIRouter(include_in_schema=False, route_class=WebRoute)
CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]
Csrf = Annotated[str, Form(max_length=100)]
StatusName = Literal["open", "investigating", "confirmed", "dismissed"]


def _admin(request: Request, viewer: session.Viewer, csrf: str | None = None,
           check: bool = False) -> None:
    if not viewer.principal.admin:
        raise Forbidden("this page is for the platform's operators")
    if check:
        session.check_csrf(viewer, app_token_key(request.app).secret, csrf)


@router.get("/admin/cases")
def cases_page(request: Request, viewer: ViewerDep, platform: PlatformDep,
               status: StatusName | None = None, before: forms.Before = None,
               after: forms.After = None) -> HTMLResponse:
    """Abuse cases, newest first, by status, a page at a time by key."""
    _admin(request, viewer)
    page = platform.read(lambda c: cases.list_cases(stores_on(c), status, limit=forms.PAGE, before=before,
                                                    after=after, newer=True))
    return render(request, "admin_cases.html", {
        "cases": page.items, "status": status,
        "statuses": ("open", "investigating", "confirmed", "dismissed"),
        "pager": forms.pager(page, "/admin/cases", status=status)},
        default_lang="en", viewer=viewer)


@router.get("/admin/cases/{case_id}")
def case_page(request: Request, viewer: ViewerDep, platform: PlatformDep,
              case_id: CaseId) -> HTMLResponse:
    """One case: parties, orders, flags, notes; investigate, confirm (refund, freeze), dismiss."""
    _admin(request, viewer)
    case = platform.read(lambda c: cases.get_case(stores_on(c), case_id))
    return render(request, "admin_case.html", {"case": case}, default_lang="en", viewer=viewer)


@router.post("/admin/cases/{case_id}/status")
async def move_case(request: Request, viewer: ViewerDep, platform: ActingPlatform,
                    case_id: CaseId, status: Annotated[StatusName, Form()],
                    note: Annotated[str, Form(max_length=cases.MAX_NOTE)] = "",
                    refund: Annotated[str, Form(max_length=5)] = "",
                    csrf: Csrf = "") -> RedirectResponse:
    """Move the case on; a confirmation refunds and freezes what the form ticked."""
    _admin(request, viewer, csrf, check=True)
    form = await request.form()
    freeze = sorted({int(v) for v in form.getlist("freeze") if isinstance(v, str)
                     and v.isdigit() and int(v) <= MAX_ID})
    platform.run(cases.transition, case_id, status, viewer.principal.username,
                 note=note.strip() or None, freeze_party_ids=freeze,
                 refund_orders=refund == "1")
    return RedirectResponse(f"/admin/cases/{case_id}", status_code=303)


@router.post("/admin/cases/{case_id}/notes")
def add_note(request: Request, viewer: ViewerDep, platform: ActingPlatform, case_id: CaseId,
             body: Annotated[str, Form(max_length=cases.MAX_NOTE)], csrf: Csrf = "") -> RedirectResponse:
    """Add a note to the case."""
    _admin(request, viewer, csrf, check=True)
    platform.run(cases.add_note, case_id, body, viewer.principal.username)
    return RedirectResponse(f"/admin/cases/{case_id}", status_code=303)
