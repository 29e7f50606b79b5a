"""The web pages: sign-in, the operator's dashboard, one page per participant role.

Handlers are thin: find the viewer, check that the page is theirs, read the stored figures in
one unit of work, hand them to :mod:`views` and a template. A party sees only its own page
(403 otherwise, with no data); an admin sees every page. Writes (sign-in, sign-out, closing a
period) are form POSTs checked against a CSRF token and answered by a redirect.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection

from gongsheng.domain.errors import GongshengError, NotFound, Unauthorized
from gongsheng.entrypoints.api.auth import app_token_key, issue_token, read_token, sign_in
from gongsheng.entrypoints.api.deps import MAX_ID, PlatformDep, actor_of
from gongsheng.entrypoints.api.limiter import RateLimited
from gongsheng.entrypoints.api.observability.metrics import count_close
from gongsheng.entrypoints.web import forms, session, views
from gongsheng.entrypoints.web.i18n import translator
from gongsheng.services import accounts, forecast_store, risk
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork, stores_on
from gongsheng.services.wallets import party_kind, wallet
from gongsheng.views import dashboards, reports

HERE = FsPath(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(views.FILTERS)


class WebRoute(APIRoute):
    """A page route: errors become HTML pages (or a redirect to sign in), never problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except session.LoginRequired as exc:
                return RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)
            except session.PageError as exc:
                return error_page(request, exc.status, exc.message)
            except RequestValidationError:
                if request.method == "GET":
                    return error_page(request, 404, "there is no such page")
                return error_page(request, 422, "the form is incomplete or not valid")
            except GongshengError as exc:
                return error_page(request, min(exc.status, 500), exc.detail)

        return route


router = APIRouter(include_in_schema=False, route_class=WebRoute)
PartyId = Annotated[int, Path(ge=1, le=MAX_ID)]
ViewerDep = Annotated[session.Viewer, Depends(session.require_viewer)]


async def acting_platform(request: Request, viewer: ViewerDep) -> Platform:
    """The platform acting for the signed-in viewer (its audit records name the viewer)."""
    platform: Platform = request.app.state.platform
    return platform.as_actor(actor_of(viewer.principal))


ActingPlatform = Annotated[Platform, Depends(acting_platform)]
"""For every page route that changes something: the platform acting for the viewer."""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
HOMES = {"consumer": "/consumer/{}", "merchant": "/merchant/{}", "bm": "/bm/{}",
         "partner": "/partner/{}", "promoter": "/promoter/{}"}


def home_of(principal: Any) -> str:
    """Where a role lands after signing in."""
    if principal.role == "admin":
        return "/admin"
    return HOMES[principal.role].format(principal.party_id)


def render(request: Request, name: str, context: dict[str, Any], *, default_lang: str = "zh",
           viewer: session.Viewer | None = None, status: int = 200) -> HTMLResponse:
    """A template with the language, its translator and the viewer's CSRF token."""
    lang = session.language(request, default_lang)
    csrf = viewer.csrf(app_token_key(request.app).secret) if viewer else None
    response = templates.TemplateResponse(request, name, {
        **context, "lang": lang, "_": translator(lang), "viewer": viewer, "csrf": csrf,
        "home": home_of(viewer.principal) if viewer else None, "path": request.url.path},
        status_code=status)
    session.remember_language(request, response)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An HTML error page (the figures of the refused page are never rendered)."""
    return render(request, "error.html", {"status": status, "message": message},
                  viewer=session.viewer_of(request), status=status)


def _safe_next(path: str | None) -> str | None:
    """Only a local path is followed after sign-in (no open redirect)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return None


# --- sign-in ---------------------------------------------------------------------------------

@router.get("/")
def index(request: Request) -> RedirectResponse:
    """The viewer's own page, or the sign-in page."""
    viewer = session.viewer_of(request)
    return RedirectResponse(home_of(viewer.principal) if viewer else "/login", status_code=303)


def _login_page(request: Request, *, error: str | None = None, username: str = "",
                next_path: str | None = None, status: int = 200) -> HTMLResponse:
    token = session.login_csrf(request)
    response = render(request, "login.html", {"error": error, "username": username,
                                              "form_token": token, "next": next_path}, status=status)
    response.set_cookie(session.LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True,
                        samesite="strict", path="/")
    return response


@router.get("/login")
def login_form(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """The sign-in form for every role."""
    return _login_page(request, next_path=_safe_next(next))


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form(max_length=100)],
                password: Annotated[str, Form(max_length=500)],
                form_token: Annotated[str, Form(max_length=100)] = "",
                next: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Check the password (rate limited, as the API's sign-in), set the session cookie, go to
    the role's page."""
    session.check_login_csrf(request, form_token)
    _ = translator(session.language(request, "zh"))
    try:
        account = await sign_in(request, username, password)
    except RateLimited as exc:
        page = _login_page(request, error=_("login:throttled"), username=username,
                           next_path=_safe_next(next), status=429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except Unauthorized as exc:
        failed = "login:disabled" if exc.detail != accounts.FAILED else "login:failed"
        return _login_page(request, error=_(failed), username=username,
                           next_path=_safe_next(next), status=401)
    settings = request.app.state.settings
    token = issue_token(account, app_token_key(request.app), settings.token_minutes)
    principal = read_token(token, app_token_key(request.app))
    target = _safe_next(next) or home_of(principal)
    response = RedirectResponse(target, status_code=303)
    session.set_session(response, token, settings.token_minutes, request.url.scheme == "https")
    response.delete_cookie(session.LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, viewer: ViewerDep, platform: PlatformDep,
           csrf: Annotated[str, Form(max_length=100)] = "") -> RedirectResponse:
    """End the session: on the server (every token of the account), and the cookie."""
    session.check_csrf(viewer, app_token_key(request.app).secret, csrf)
    platform.run(accounts.end_sessions, viewer.principal.account_id)
    response = RedirectResponse("/login", status_code=303)
    session.clear_session(response)
    return response


# --- the operator ----------------------------------------------------------------------------

def _require_admin(viewer: session.Viewer) -> None:
    if not viewer.principal.admin:
        raise session.PageError(403, "this page is for the platform's operators")


def _admin_figures(conn: Connection) -> dict[str, Any]:
    stores = stores_on(conn)
    return {"kpis": reports.kpis(conn, 1, 1000), "risk": risk.risk(stores),
            "regions": dashboards.regions_overview(conn), "forecast": forecast_store.latest(stores)}


@router.get("/admin")
def admin_page(request: Request, viewer: ViewerDep, platform: PlatformDep,
               closed: Annotated[int | None, Query(ge=1, le=10**6)] = None) -> HTMLResponse:
    """The operator's dashboard: KPIs, charts over periods, risk flags, regions, channels."""
    _require_admin(viewer)
    data = platform.read(_admin_figures)
    _ = translator(session.language(request, "en"))
    kpis = data["kpis"]
    last = kpis["periods"][-1] if kpis["periods"] else {}
    return render(request, "admin.html", {
        "kpis": kpis, "rows": views.kpi_rows(kpis), "last": last, "open": kpis["open_period"],
        "charts": views.admin_charts(kpis["periods"], _), "risk": data["risk"],
        "regions": data["regions"], "closed": closed, "forecast": data["forecast"]},
        default_lang="en", viewer=viewer)


@router.post("/admin/close")
def close_period(request: Request, viewer: ViewerDep, platform: ActingPlatform, tasks: BackgroundTasks,
                 period: Annotated[int, Form(ge=1, le=10**6)],
                 csrf: Annotated[str, Form(max_length=100)] = "") -> RedirectResponse:
    """Close the open period (the form names it, so a repeated submit closes nothing more)."""
    _require_admin(viewer)
    session.check_csrf(viewer, app_token_key(request.app).secret, csrf)
    summary = platform.close_period(period)
    count_close(summary.released_fen, already_closed=summary.already_closed)
    if not summary.already_closed:  # the forecast is refreshed after the response
        from gongsheng.entrypoints.forecasting import refresh_quietly

        tasks.add_task(refresh_quietly, platform)
    return RedirectResponse(f"/admin?closed={summary.period}", status_code=303)


@router.get("/admin/party")
def find_party(viewer: ViewerDep, platform: PlatformDep,
               id: Annotated[int, Query(ge=1, le=MAX_ID)]) -> RedirectResponse:
    """Open any party's page by its id (admin)."""
    _require_admin(viewer)
    kind = platform.read(lambda conn: party_kind(stores_on(conn), id))
    if kind not in HOMES:
        raise NotFound(f"party {id} has no page")
    return RedirectResponse(HOMES[kind].format(id), status_code=303)


# --- participants ----------------------------------------------------------------------------

def _party_figures(platform: Platform, viewer: session.Viewer, kind: str, party_id: int,
                   load: Callable[[Connection, int], dict[str, Any]]) -> dict[str, Any]:
    """The party's figures in one unit of work (reading a wallet settles it, hence a commit)."""
    viewer.principal.require_own(party_id, "this page")

    def read(uow: UnitOfWork) -> dict[str, Any]:
        if party_kind(uow, party_id) != kind:
            raise NotFound(f"party {party_id} is not a {kind}")
        return load(uow.conn, party_id)

    return platform.run(read)


def _wallet(conn: Connection, party_id: int) -> dict[str, Any]:
    w = wallet(stores_on(conn), party_id)
    holdings = views.holdings_view(w.holdings)
    return {"wallet": w, "holdings": holdings, "projection": views.projection(holdings),
            "released_fen": sum(h["released_fen"] for h in holdings),
            "cap_fen": sum(h["cap_fen"] for h in holdings)}


def _consumer(conn: Connection, party_id: int) -> dict[str, Any]:
    orders = reports.list_orders(conn, consumer_id=party_id, limit=20).items
    return {**_wallet(conn, party_id), "profile": reports.party_profile(conn, party_id),
            "orders": orders, "names": dashboards.party_names(conn, [o.merchant_id for o in orders])}


def _merchant(conn: Connection, party_id: int) -> dict[str, Any]:
    return {**_wallet(conn, party_id), "profile": reports.party_profile(conn, party_id),
            "activity": dashboards.merchant_activity(conn, party_id),
            "programmes": dashboards.share_programmes(conn, party_id),
            "orders": reports.list_orders(conn, merchant_id=party_id, limit=10).items}


def _bm(conn: Connection, party_id: int, *, before: int | None = None,
        after: int | None = None) -> dict[str, Any]:
    statement = reports.statement(conn, party_id)
    bound = reports.bm_merchants(conn, party_id, limit=forms.PAGE, before=before, after=after,
                                 newer=True)
    return {"profile": reports.party_profile(conn, party_id), "bound": bound,
            "pager": forms.pager(bound["page"], f"/bm/{party_id}"), "statement": statement,
            "commissions": views.commissions_by_period(statement)}


def _partner(conn: Connection, party_id: int) -> dict[str, Any]:
    return {"profile": reports.party_profile(conn, party_id),
            "report": reports.partner_report(conn, party_id),
            "statement": reports.statement(conn, party_id)}


def _promoter(conn: Connection, party_id: int, *, before: int | None = None,
              after: int | None = None) -> dict[str, Any]:
    statement = reports.statement(conn, party_id)
    commissions = views.commissions_by_period(statement)
    overview = dashboards.promoter_overview(conn, party_id, limit=forms.PAGE, before=before,
                                            after=after, newer=True)
    return {"profile": reports.party_profile(conn, party_id), "overview": overview,
            "pager": forms.pager(overview["page"], f"/promoter/{party_id}"), "statement": statement,
            "commissions": commissions,
            "commissions_total_fen": sum(r["commission_fen"] for r in commissions)}


def _party_page(request: Request, viewer: session.Viewer, platform: Platform, kind: str,
                party_id: int, load: Callable[[Connection, int], dict[str, Any]],
                charts: Callable[[dict[str, Any], Any], list[dict[str, Any]]] | None = None
                ) -> HTMLResponse:
    data = _party_figures(platform, viewer, kind, party_id, load)
    _ = translator(session.language(request, "zh"))
    return render(request, f"{kind}.html", {**data, "party_id": party_id,
                                            "charts": charts(data, _) if charts else []},
                  viewer=viewer)


@router.get("/consumer/{party_id}")
def consumer_page(request: Request, viewer: ViewerDep, platform: PlatformDep,
                  party_id: PartyId) -> HTMLResponse:
    """A consumer's points, holdings and their progress, vouchers, projection, orders, referral code."""
    return _party_page(request, viewer, platform, "consumer", party_id, _consumer)


@router.get("/merchant/{party_id}")
def merchant_page(request: Request, viewer: ViewerDep, platform: PlatformDep,
                  party_id: PartyId) -> HTMLResponse:
    """A merchant's sales, concessions, points and release, rewards, settlement, store programme."""
    return _party_page(request, viewer, platform, "merchant", party_id, _merchant,
                       lambda d, _: [views.merchant_chart(d["activity"], _)])


@router.get("/bm/{party_id}")
def bm_page(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
            before: forms.Before = None, after: forms.After = None) -> HTMLResponse:
    """A business manager's bound merchants (paged by key) and lifetime commissions."""
    return _party_page(request, viewer, platform, "bm", party_id,
                       partial(_bm, before=before, after=after),
                       lambda d, _: [views.commission_chart(d["commissions"], _)])


@router.get("/partner/{party_id}")
def partner_page(request: Request, viewer: ViewerDep, platform: PlatformDep,
                 party_id: PartyId) -> HTMLResponse:
    """A partner's region, dividends per period against its investment, team and commissions."""
    return _party_page(request, viewer, platform, "partner", party_id, _partner,
                       lambda d, _: [views.payback_chart(d["report"], _)])


@router.get("/promoter/{party_id}")
def promoter_page(request: Request, viewer: ViewerDep, platform: PlatformDep, party_id: PartyId,
                  before: forms.Before = None, after: forms.After = None) -> HTMLResponse:
    """A promoter's signed merchants (paged by key) and commissions."""
    return _party_page(request, viewer, platform, "promoter", party_id,
                       partial(_promoter, before=before, after=after),
                       lambda d, _: [views.commission_chart(d["commissions"], _)])


# --- static: plotly.js from the installed plotly package -------------------------------------

def plotly_js_path() -> FsPath:
    """plotly.min.js as shipped inside the ``plotly`` PyPI package (found without importing it)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise NotFound("the plotly package is not installed")
    return FsPath(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


@router.get("/static/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    """The charting library, served locally (no network at run time)."""
    return FileResponse(plotly_js_path(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=604800"})
