"""Sign-in (OAuth2 password flow) and the caller's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from gongsheng.entrypoints.api.auth import issue_token
from gongsheng.entrypoints.api.deps import CurrentUser, PlatformDep
from gongsheng.entrypoints.api.schemas import MeOut, Token
from gongsheng.services import accounts
from gongsheng.services.reports import party_profile

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=Token)
def token(request: Request, platform: PlatformDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password for a signed, expiring bearer token."""
    account = platform.read(accounts.authenticate, form.username, form.password)
    minutes = request.app.state.settings.token_minutes
    return Token(access_token=issue_token(account, request.app.state.secret, minutes),
                 expires_in=minutes * 60, role=account.role, party_id=account.party_id)


@router.get("/me", response_model=MeOut)
def me(user: CurrentUser, platform: PlatformDep) -> MeOut:
    """The caller's account and party."""
    party = platform.read(party_profile, user.party_id) if user.party_id is not None else None
    return MeOut(username=user.username, role=user.role, party_id=user.party_id, party=party)
