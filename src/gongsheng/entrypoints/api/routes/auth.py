"""Sign-in (OAuth2 password flow), sign-out, password change, the caller's own account, and
disabling accounts (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from gongsheng.entrypoints.api.auth import app_token_key, issue_token, sign_in
from gongsheng.entrypoints.api.deps import ActingPlatform, AdminUser, CurrentUser, PlatformDep
from gongsheng.entrypoints.api.schemas import In, MeOut, Token
from gongsheng.services import accounts
from gongsheng.services.passwords import MAX_LENGTH
from gongsheng.services.usernames import MAX_LENGTH as MAX_NAME
from gongsheng.views.reports import party_profile

router = APIRouter(tags=["auth"])
Username = Annotated[str, Path(min_length=1, max_length=MAX_NAME, description="an account's username")]


class PasswordChangeIn(In):
    """The caller's current password and the new one (which must meet the password policy)."""

    current_password: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]
    new_password: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]


class AccountOut(BaseModel):
    username: str
    role: str
    party_id: int | None
    disabled: bool


@router.post("/auth/token", response_model=Token)
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password for a signed, expiring bearer token (rate limited: 429)."""
    account = await sign_in(request, form.username, form.password)
    minutes = request.app.state.settings.token_minutes
    return Token(access_token=issue_token(account, app_token_key(request.app), minutes),
                 expires_in=minutes * 60, role=account.role, party_id=account.party_id)


@router.post("/auth/logout", status_code=204)
def logout(user: CurrentUser, platform: PlatformDep) -> Response:
    """Sign out: every token and web session of the caller's account ends at once."""
    platform.run(accounts.end_sessions, user.account_id)
    return Response(status_code=204)


@router.post("/auth/password", status_code=204)
def change_password(body: PasswordChangeIn, user: CurrentUser, platform: ActingPlatform) -> Response:
    """Change the caller's password; every token of the account ends (sign in again)."""
    platform.run(accounts.change_password, user.account_id, body.current_password, body.new_password)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
def me(user: CurrentUser, platform: PlatformDep) -> MeOut:
    """The caller's account and party."""
    party = platform.read(party_profile, user.party_id) if user.party_id is not None else None
    return MeOut(username=user.username, role=user.role, party_id=user.party_id, party=party)


def _set_disabled(platform: PlatformDep, user: AdminUser, username: str, disabled: bool) -> AccountOut:
    account = platform.run(accounts.set_disabled, username, disabled, by=user.account_id)
    return AccountOut(username=account.username, role=account.role, party_id=account.party_id,
                      disabled=disabled)


@router.post("/accounts/{username}/disable", response_model=AccountOut)
def disable_account(username: Username, user: AdminUser, platform: ActingPlatform) -> AccountOut:
    """Disable an account (admin): it cannot sign in, and its tokens end at once."""
    return _set_disabled(platform, user, username, True)


@router.post("/accounts/{username}/enable", response_model=AccountOut)
def enable_account(username: Username, user: AdminUser, platform: ActingPlatform) -> AccountOut:
    """Enable a disabled account again (admin); it signs in anew."""
    return _set_disabled(platform, user, username, False)
