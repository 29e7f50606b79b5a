"""Pages where the network grows: BMs and promoters sign merchants (with the waterfall shown live),
partners invite promoters, the operator approves merchants, assigns and ends partner terms, and
searches every list.

A new login is always made by a one-time invitation: the page that creates the party shows its
link (and QR) once; the platform never shows or sends a password.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from gongsheng.adapters.paging import KeyedPage
from gongsheng.domain.errors import Forbidden, GongshengError
from gongsheng.domain.money import parse_yuan
from gongsheng.entrypoints.api.auth import app_token_key
from gongsheng.entrypoints.api.deps import MAX_ID, PlatformDep
from gongsheng.entrypoints.web import forms, session
from gongsheng.entrypoints.web.routes import (
    SECURITY_HEADERS,
    ActingPlatform,
    PartyId,
    ViewerDep,
    WebRoute,
    render,
)
from gongsheng.services import freezes, invitations, registry, signing, terms
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork, stores_on
from gongsheng.views import directory, reports, signings

router = APIRouter(include_in_schema=False, route_class=WebRoute)
Csrf = Annotated[str, Form(max_length=100)]
Search = Annotated[str | None, Query(max_length=100)]
Field = Annotated[str, Form(max_length=200)]
SHORT = Annotated[str, Form(max_length=20)]


def _issued(request: Request, viewer: session.Viewer, issued: invitations.IssuedInvitation, name: str,
            back: str) -> HTMLResponse:
    """The page that shows a new invitation's link once."""
    link = forms.absolute(request, issued.path)
    return render(request, "invitation_issued.html", {"issued": issued, "name": name, "link": link,
                                                      "qr": forms.qr_svg(link), "back": back},
                  viewer=viewer, status=201)


def _checked(request: Request, viewer: session.Viewer, csrf: str | None) -> None:
    session.check_csrf(viewer, app_token_key(request.app).secret, csrf)


# --- signing merchants (BM, promoter, admin) -------------------------------------------------

def _signer(viewer: session.Viewer) -> signing.Signer:
    p = viewer.principal
    if p.role not in signing.SIGNERS:
        raise Forbidden("merchants are signed by business managers, promoters and administrators")
    return signing.Signer(p.role, p.party_id, p.username)


def _terms(signer: signing.Signer, values: dict[str, str]) -> registry.MerchantTerms:
    region = values.get("region_id", "")
    return registry.MerchantTerms(
        values.get("name", ""), values.get("category", ""), values.get("channel", ""),
        int(region) if region.isdigit() and int(region) <= MAX_ID else 0,
        values.get("concession_rate") or None, values.get("accepts_vouchers") == "1", None,
        (values.get("bm_rate") or None) if signer.role == "bm" else None, None)


def _sign_page(request: Request, viewer: session.Viewer, platform: Platform, *, values: dict[str, str],
               error: str | None = None, done: int | None = None, before: int | None = None,
               after: int | None = None, status: int = 200) -> HTMLResponse:
    signer = _signer(viewer)

    def read(uow: UnitOfWork) -> dict[str, Any]:
        conn = uow.conn
        mine = None if signer.role == "admin" else signer.party_id
        page = signings.signings(conn, signer_id=mine, limit=forms.PAGE, before=before, after=after,
                                newer=True)
        preview = None
        if values.get("name") is not None and error is None:
            try:
                preview = signing.preview(uow, signer, _terms(signer, values))
            except GongshengError:
                preview = None
        return {"regions": directory.regions(conn), "page": page, "preview": preview}

    data = platform.run(read)
    return render(request, "sign.html", {
        **data, "values": values, "error": error, "done": done, "signer": signer,
        "pager": forms.pager(data["page"], "/sign")}, viewer=viewer, status=status)


@router.get("/sign")
def sign_form(request: Request, viewer: ViewerDep, platform: PlatformDep,
              done: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
              before: forms.Before = None, after: forms.After = None) -> HTMLResponse:
    """Sign a merchant: its terms, the waterfall at those rates shown live, and one's signings."""
    return _sign_page(request, viewer, platform, values={"channel": "alliance", "accepts_vouchers": "1"},
                      done=done, before=before, after=after)


@router.get("/sign/preview")
def sign_preview(request: Request, viewer: ViewerDep, platform: PlatformDep) -> Response:
    """The live waterfall of the form's terms as JSON (for the page's script); writes nothing."""
    signer = _signer(viewer)
    values = {k: v[:200] for k, v in request.query_params.items()}
    try:
        body: dict[str, Any] = {"ok": True, **platform.read(
            lambda c: signing.preview(stores_on(c), signer, _terms(signer, values)))}
    except GongshengError as exc:
        body = {"ok": False, "error": exc.detail}
    return JSONResponse(body, headers=SECURITY_HEADERS)


@router.post("/sign")
def sign(request: Request, viewer: ViewerDep, platform: ActingPlatform, name: Field,
         category: Annotated[str, Form(max_length=50)], channel: SHORT, region_id: SHORT,
         concession_rate: SHORT = "", bm_rate: SHORT = "", accepts_vouchers: SHORT = "",
         csrf: Csrf = "") -> Response:
    """Sign the merchant; it waits for the operator's approval. An infeasible contract is refused
    with the reason, the form kept as typed."""
    _checked(request, viewer, csrf)
    signer = _signer(viewer)
    values = {"name": name, "category": category, "channel": channel, "region_id": region_id,
              "concession_rate": concession_rate, "bm_rate": bm_rate, "accepts_vouchers": accepts_vouchers}
    try:
        merchant = platform.run(signing.sign, signer, _terms(signer, values))
    except GongshengError as exc:
        return _sign_page(request, viewer, platform, values=values, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/sign?done={merchant}", status_code=303)


# --- a partner's team ------------------------------------------------------------------------

def _team_page(request: Request, viewer: session.Viewer, platform: Platform, party_id: int) -> HTMLResponse:
    viewer.principal.require_own(party_id, "this partner's team")

    def read(conn: Any) -> dict[str, Any]:
        return {"report": reports.partner_report(conn, party_id),
                "merchants": directory.team_merchants(conn, party_id)}

    return render(request, "team.html", {**platform.read(read), "party_id": party_id}, viewer=viewer)


@router.get("/partner/{party_id}/team")
def team_page(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId) -> HTMLResponse:
    """A partner's promoters, the merchants each signed and their commissions; invite a promoter."""
    return _team_page(request, viewer, platform, party_id)


@router.post("/partner/{party_id}/team")
def invite_promoter(request: Request, viewer: ViewerDep, platform: ActingPlatform, party_id: PartyId,
                    name: Field, csrf: Csrf = "") -> HTMLResponse:
    """Add a promoter to the partner's team; show its one-time login link."""
    _checked(request, viewer, csrf)
    p = viewer.principal
    if not (p.admin or (p.role == "partner" and p.party_id == party_id)):
        raise Forbidden("only the partner itself adds promoters to its team")

    def use_case(uow: UnitOfWork) -> invitations.IssuedInvitation:
        promoter = registry.create_promoter(uow, name, party_id)
        return invitations.invite(uow, promoter, p.username)

    return _issued(request, viewer, platform.run(use_case), name.strip(), f"/partner/{party_id}/team")


# --- the operator ----------------------------------------------------------------------------

def _admin(viewer: session.Viewer) -> None:
    if not viewer.principal.admin:
        raise Forbidden("this page is for the platform's operators")


@router.get("/admin/signings")
def signings_page(request: Request, viewer: ViewerDep, platform: PlatformDep,
                  status: Literal["pending", "approved", "rejected"] | None = "pending",
                  q: Search = None, before: forms.Before = None,
                  after: forms.After = None) -> HTMLResponse:
    """Signed merchants to approve or reject (pending first), searchable, paged by key."""
    _admin(viewer)
    page = platform.read(lambda c: signings.signings(c, status=status, q=q, limit=forms.PAGE,
                                                    before=before, after=after, newer=True))
    return render(request, "admin_signings.html", {
        "page": page, "status": status, "q": q or "",
        "pager": forms.pager(page, "/admin/signings", status=status, q=q)}, default_lang="en", viewer=viewer)


@router.post("/admin/signings/{party_id}/approve")
def approve(request: Request, viewer: ViewerDep, platform: ActingPlatform, party_id: PartyId,
            csrf: Csrf = "") -> Response:
    """Approve a pending merchant; show its one-time login link."""
    _admin(viewer)
    _checked(request, viewer, csrf)
    issued = platform.run(signing.approve, party_id, viewer.principal.username)
    if issued is None:
        return RedirectResponse("/admin/signings", status_code=303)
    name = platform.read(reports.party_profile, party_id)["name"]
    return _issued(request, viewer, issued, name, "/admin/signings")


@router.post("/admin/signings/{party_id}/reject")
def reject(request: Request, viewer: ViewerDep, platform: ActingPlatform, party_id: PartyId,
           reason: Annotated[str, Form(max_length=500)], csrf: Csrf = "") -> RedirectResponse:
    """Reject a pending merchant with a reason its signer will read."""
    _admin(viewer)
    _checked(request, viewer, csrf)
    platform.run(signing.reject, party_id, viewer.principal.username, reason)
    return RedirectResponse("/admin/signings", status_code=303)


@router.get("/admin/parties")
def parties_page(request: Request, viewer: ViewerDep, platform: PlatformDep,
                 kind: Literal["consumer", "merchant", "bm", "partner", "promoter"] | None = None,
                 q: Search = None, before: forms.Before = None,
                 after: forms.After = None) -> HTMLResponse:
    """Every party, searchable by name or id and kind, a page at a time by key; invite a login."""
    _admin(viewer)

    def read(conn: Any) -> tuple[KeyedPage[dict[str, Any]], set[int]]:
        found = directory.parties(conn, kind=kind, q=q, limit=forms.PAGE, before=before,
                                  after=after, newer=True)
        return found, freezes.frozen_among(stores_on(conn), [int(p["party_id"]) for p in found.items])

    page, frozen = platform.read(read)
    return render(request, "admin_parties.html", {
        "page": page, "kind": kind, "q": q or "", "kinds": directory.KINDS, "frozen": frozen,
        "pager": forms.pager(page, "/admin/parties", kind=kind, q=q)}, default_lang="en", viewer=viewer)


@router.post("/admin/parties/{party_id}/invite")
def invite_party(request: Request, viewer: ViewerDep, platform: ActingPlatform, party_id: PartyId,
                 csrf: Csrf = "") -> HTMLResponse:
    """A one-time login link for a party that has no login."""
    _admin(viewer)
    _checked(request, viewer, csrf)
    issued = platform.run(invitations.invite, party_id, viewer.principal.username)
    name = platform.read(reports.party_profile, party_id)["name"]
    return _issued(request, viewer, issued, name, "/admin/parties")


@router.post("/admin/parties/{party_id}/freeze")
def freeze_party(request: Request, viewer: ViewerDep, platform: ActingPlatform, party_id: PartyId,
                 reason: Annotated[str, Form(max_length=500)], csrf: Csrf = "") -> RedirectResponse:
    """Freeze a party for review, with a reason (no sale, voucher spend or withdrawal)."""
    _admin(viewer)
    _checked(request, viewer, csrf)
    platform.freeze(party_id, reason=reason, actor=viewer.principal.username)
    return RedirectResponse(f"/admin/parties?q={party_id}", status_code=303)


@router.post("/admin/parties/{party_id}/unfreeze")
def unfreeze_party(request: Request, viewer: ViewerDep, platform: ActingPlatform, party_id: PartyId,
                   csrf: Csrf = "") -> RedirectResponse:
    """Unfreeze a party: it resumes with everything it accrued while frozen."""
    _admin(viewer)
    _checked(request, viewer, csrf)
    platform.unfreeze(party_id, actor=viewer.principal.username)
    return RedirectResponse(f"/admin/parties?q={party_id}", status_code=303)


@router.get("/admin/partners")
def partners_page(request: Request, viewer: ViewerDep, platform: PlatformDep, q: Search = None,
                  before: forms.Before = None, after: forms.After = None,
                  ended: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> HTMLResponse:
    """Partners and their terms; assign a partner to a region; end a term."""
    _admin(viewer)

    def read(conn: Any) -> dict[str, Any]:
        return {"page": directory.partners(conn, q=q, limit=forms.PAGE, before=before, after=after,
                                           newer=True),
                "regions": [r for r in directory.regions(conn) if r["partner_id"] is None]}

    data = platform.read(read)
    return render(request, "admin_partners.html", {
        **data, "q": q or "", "ended": ended,
        "pager": forms.pager(data["page"], "/admin/partners", q=q)}, default_lang="en", viewer=viewer)


@router.post("/admin/partners")
def assign_partner(request: Request, viewer: ViewerDep, platform: ActingPlatform, name: Field,
                   region_id: Annotated[int, Form(ge=1, le=MAX_ID)], investment: SHORT,
                   term_periods: SHORT = "", csrf: Csrf = "") -> HTMLResponse:
    """A new partner holding a region from the open period; show its one-time login link."""
    _admin(viewer)
    _checked(request, viewer, csrf)
    term = int(term_periods) if term_periods.strip().isdigit() else None
    invested = parse_yuan(investment or "0")

    def use_case(uow: UnitOfWork) -> invitations.IssuedInvitation:
        partner = terms.assign(uow, name, region_id, invested, term)
        return invitations.invite(uow, partner, viewer.principal.username)

    return _issued(request, viewer, platform.run(use_case), name.strip(), "/admin/partners")


@router.post("/admin/partners/{party_id}/end-term")
def end_term(request: Request, viewer: ViewerDep, platform: ActingPlatform, party_id: PartyId,
             csrf: Csrf = "") -> RedirectResponse:
    """End a partner's term: from the next order its region's share goes to the pool."""
    _admin(viewer)
    _checked(request, viewer, csrf)
    platform.run(terms.end_term, party_id)
    return RedirectResponse(f"/admin/partners?ended={party_id}", status_code=303)
