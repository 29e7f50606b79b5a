"""Who is looking at a page: the signed token in an HttpOnly cookie, the CSRF form token, the language.

- The session cookie holds the same signed, expiring bearer token the API issues
  (:func:`gongsheng.entrypoints.api.auth.issue_token`); it is ``HttpOnly`` and ``SameSite=Strict``,
  so scripts cannot read it and other sites cannot send it. It is checked like a bearer token,
  session generation included (:func:`gongsheng.entrypoints.api.auth.authorize`): signing out
  ends it (and every other token of the account) on the server, not only in this browser.
- Every form that changes something carries a CSRF token: an HMAC of the session token under the
  signing key (stateless; it changes with each login). The login form, sent before there is a
  session, uses a double-submit token (a random cookie repeated in a hidden field).
- The language comes from ``?lang=zh|en`` (stored in a cookie), else the cookie, else the page's
  default (Chinese for participants, English for the operator).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from starlette.responses import Response

from gongsheng.domain.errors import GongshengError
from gongsheng.entrypoints.api.auth import Principal, authorize

SESSION_COOKIE = "gs_session"
LOGIN_CSRF_COOKIE = "gs_login_csrf"
LANG_COOKIE = "gs_lang"
LANGS = ("zh", "en")


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageError(Exception):
    """A page that cannot be shown to this viewer (403, 404, 422): an HTML error page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: the principal its token names, and the token (for the CSRF token)."""

    principal: Principal
    token: str

    def csrf(self, secret: str) -> str:
        return csrf_token(self.token, secret)


def csrf_token(session_token: str, secret: str) -> str:
    """The form token bound to one session."""
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()[:40]


def check_csrf(viewer: Viewer, secret: str, sent: str | None) -> None:
    """Refuse a form whose token is missing or not this session's."""
    if not sent or not hmac.compare_digest(sent, viewer.csrf(secret)):
        raise PageError(403, "the form has expired or did not come from this site; reload the page")


def viewer_of(request: Request) -> Viewer | None:
    """The signed-in viewer, or None when there is no valid session cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return Viewer(authorize(request.app.state.platform, token, request.app.state.token_key), token)
    except GongshengError:
        return None


def require_viewer(request: Request) -> Viewer:
    """The signed-in viewer; :class:`LoginRequired` otherwise."""
    viewer = viewer_of(request)
    if viewer is None:
        raise LoginRequired(request.url.path)
    return viewer


def set_session(response: Response, token: str, minutes: int, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=minutes * 60, httponly=True, samesite="strict",
                        secure=secure, path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def login_csrf(request: Request) -> str:
    """The login form's double-submit token (the cookie's, or a new one)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def check_login_csrf(request: Request, sent: str | None) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise PageError(403, "the sign-in form has expired; reload the page and try again")


def language(request: Request, default: str) -> str:
    """``?lang=`` if valid, else the cookie, else ``default``."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    stored = request.cookies.get(LANG_COOKIE)
    return stored if stored in LANGS else default


def remember_language(request: Request, response: Response) -> None:
    """Store an explicit ``?lang=`` choice in a cookie (a year)."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, samesite="lax", path="/")
