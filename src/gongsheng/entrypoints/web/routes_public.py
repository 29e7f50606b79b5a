"""Pages before and around a login: joining from a referral or merchant link, accepting an
invitation, changing one's password.

Forms sent without a session (joining, accepting an invitation) carry the sign-in form's
double-submit token; a refused form is shown again with the reason and what was typed (never the
password). A login made here starts its session at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, select

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import GongshengError, InvalidInput, NotFound
from gongsheng.entrypoints.api.auth import app_token_key, issue_token, read_token
from gongsheng.entrypoints.api.deps import MAX_ID, PlatformDep, actor_of, count_sign_up
from gongsheng.entrypoints.web import session
from gongsheng.entrypoints.web.i18n import translator
from gongsheng.entrypoints.web.routes import ActingPlatform, ViewerDep, WebRoute, home_of, render
from gongsheng.services import accounts, invitations, registry
from gongsheng.services.accounts import Account
from gongsheng.services.unit_of_work import UnitOfWork, stores_on

router = APIRouter(include_in_schema=False, route_class=WebRoute)
Token = Annotated[str, Path(min_length=10, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
Text = Annotated[str, Form(max_length=200)]
Secret = Annotated[str, Form(max_length=500)]


def start_session(request: Request, account: Account, target: str | None = None) -> RedirectResponse:
    """Sign ``account`` in (the session cookie) and go to ``target`` or its home page."""
    settings = request.app.state.settings
    token = issue_token(account, app_token_key(request.app), settings.token_minutes)
    response = RedirectResponse(target or home_of(read_token(token, app_token_key(request.app))),
                                status_code=303)
    session.set_session(response, token, settings.token_minutes, request.url.scheme == "https")
    response.delete_cookie(session.LOGIN_CSRF_COOKIE, path="/")
    return response


def _public_form(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    token = session.login_csrf(request)
    response = render(request, name, {**context, "form_token": token}, status=status)
    response.set_cookie(session.LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True,
                        samesite="strict", path="/")
    return response


# --- joining (消费者注册) ------------------------------------------------------------------------

def _merchant_name(conn: Connection, merchant_id: int | None) -> str | None:
    """The name of the active merchant whose link this is (None for none or an unknown one)."""
    if merchant_id is None:
        return None
    m, p = t.merchants, t.parties
    return conn.execute(select(p.c.name).select_from(m.join(p, p.c.id == m.c.party_id))
                        .where(m.c.party_id == merchant_id, m.c.active)).scalar()


@router.get("/join")
def join_form(request: Request, platform: PlatformDep,
              ref: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9A-Za-z-]+$")] = None,
              m: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> Response:
    """The sign-up page a referral link or a merchant's QR code opens (phone first)."""
    return _public_form(request, "join.html", {
        "ref": ref, "m": m, "merchant": platform.read(_merchant_name, m), "name": "", "username": "",
        "error": None})


@router.post("/join")
def join(request: Request, platform: PlatformDep, name: Text,
         username: Annotated[str, Form(max_length=100)], password: Secret,
         form_token: Annotated[str, Form(max_length=100)] = "",
         ref: Annotated[str, Form(max_length=20)] = "",
         m: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Create the consumer (referred by the code, brought in by the merchant) and its login."""
    session.check_login_csrf(request, form_token)
    merchant = int(m) if m.isdigit() and 0 < int(m) <= MAX_ID else None

    def use_case(uow: UnitOfWork) -> Account:
        referrer = registry.consumer_by_referral_code(uow, ref.strip()) if ref.strip() else None
        home = merchant if _merchant_name(uow.conn, merchant) is not None else None
        party = registry.create_consumer(uow, name, referrer, home)
        return accounts.create_account(uow, username, password, "consumer", party)

    try:
        count_sign_up(request)  # anonymous sign-ups are rate limited per address, as in the API
        account = platform.as_actor(actor_of(None)).run(use_case)
    except GongshengError as exc:
        return _public_form(request, "join.html", {
            "ref": ref or None, "m": merchant, "merchant": platform.read(_merchant_name, merchant),
            "name": name, "username": username, "error": exc.detail}, status=exc.status)
    return start_session(request, account)


# --- invitations (邀请链接) ---------------------------------------------------------------------

@router.get("/invite/{token}")
def invitation_form(request: Request, platform: PlatformDep, token: Token) -> Response:
    """The page of a one-time invitation: choose a username and a password."""
    found = platform.read(lambda c: invitations.open_invitation(stores_on(c), token))
    return _public_form(request, "invite.html", {"invitation": found, "token": token, "username": "",
                                                 "error": None})


@router.post("/invite/{token}")
def accept_invitation(request: Request, platform: PlatformDep, token: Token,
                      username: Annotated[str, Form(max_length=100)], password: Secret,
                      form_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Create the invited login; the link is spent; the new login is signed in."""
    session.check_login_csrf(request, form_token)
    try:
        account = platform.as_actor(actor_of(None)).run(invitations.accept, token, username,
                                                        password)
    except NotFound:
        raise
    except GongshengError as exc:
        found = platform.read(lambda c: invitations.open_invitation(stores_on(c), token))
        return _public_form(request, "invite.html", {"invitation": found, "token": token,
                                                     "username": username, "error": exc.detail},
                            status=exc.status)
    return start_session(request, account)


# --- password (修改密码) ------------------------------------------------------------------------

@router.get("/account/password")
def password_form(request: Request, viewer: ViewerDep) -> HTMLResponse:
    """Change one's password."""
    return render(request, "password.html", {"error": None}, viewer=viewer)


@router.post("/account/password")
def change_password(request: Request, viewer: ViewerDep, platform: ActingPlatform, current: Secret,
                    new: Secret, repeat: Secret, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Check the current password, store the new one; every session ends (sign in again)."""
    session.check_csrf(viewer, app_token_key(request.app).secret, csrf)
    _ = translator(session.language(request, "zh"))
    try:
        if new != repeat:
            raise InvalidInput(_("password:mismatch"))
        platform.run(accounts.change_password, viewer.principal.account_id, current, new)
    except GongshengError as exc:
        return render(request, "password.html", {"error": exc.detail}, viewer=viewer,
                      status=exc.status)
    response = RedirectResponse("/login?changed=1", status_code=303)
    session.clear_session(response)
    return response
