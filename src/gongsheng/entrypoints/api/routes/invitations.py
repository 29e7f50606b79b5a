"""Invitations: one-time links by which a new login sets its own password."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from sqlalchemy import select

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import Forbidden
from gongsheng.entrypoints.api.auth import Principal, app_token_key, issue_token
from gongsheng.entrypoints.api.deps import ActingPlatform, CurrentUser, PlatformDep, actor_of
from gongsheng.entrypoints.api.schemas import Token
from gongsheng.entrypoints.api.schemas_parties import (
    AcceptIn,
    InvitationIn,
    InvitationInfo,
    InvitationOut,
    invitation_out,
)
from gongsheng.services import invitations
from gongsheng.services.unit_of_work import UnitOfWork, stores_on

router = APIRouter(tags=["invitations"])
TokenPath = Path(min_length=10, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")


def may_invite(uow: UnitOfWork, user: Principal, party_id: int) -> None:
    """Admin invites anyone; a partner its own promoters; a BM or promoter the merchants it signed
    that were approved. Anything else is refused with one answer (it tells nothing of the party)."""
    if user.admin:
        return
    conn = uow.conn
    if user.role == "partner":
        owner = conn.execute(select(t.promoters.c.partner_id)
                             .where(t.promoters.c.party_id == party_id)).scalar()
    elif user.role in ("bm", "promoter"):
        owner = conn.execute(select(t.merchant_signings.c.signer_id).where(
            t.merchant_signings.c.merchant_id == party_id,
            t.merchant_signings.c.status == "approved")).scalar()
    else:
        owner = None
    if owner is None or int(owner) != user.party_id:
        raise Forbidden(f"party {party_id} is not one you may invite")


@router.post("/invitations", status_code=201, response_model=InvitationOut)
def create_invitation(body: InvitationIn, user: CurrentUser, platform: ActingPlatform) -> InvitationOut:
    """A one-time, expiring link for a party's first login (its token is shown only here)."""

    def use_case(uow: UnitOfWork) -> invitations.IssuedInvitation:
        may_invite(uow, user, body.party_id)
        return invitations.invite(uow, body.party_id, user.username, body.hours)

    return invitation_out(platform.run(use_case))


@router.get("/invitations/{token}", response_model=InvitationInfo)
def read_invitation(platform: PlatformDep, token: str = TokenPath) -> InvitationInfo:
    """What an open invitation is for (no sign-in needed: the token is the credential)."""
    found = platform.read(lambda c: invitations.open_invitation(stores_on(c), token))
    return InvitationInfo(role=found.role, party_id=found.party_id, party_name=found.party_name,
                          expires_at=found.expires_at)


@router.post("/invitations/{token}/accept", response_model=Token)
def accept_invitation(request: Request, body: AcceptIn, platform: PlatformDep,
                      token: str = TokenPath) -> Token:
    """Create the invited login with the chosen password; the link is spent; returns a token."""
    account = platform.as_actor(actor_of(None)).run(invitations.accept, token, body.username,
                                                    body.password)
    minutes = request.app.state.settings.token_minutes
    return Token(access_token=issue_token(account, app_token_key(request.app), minutes),
                 expires_in=minutes * 60, role=account.role, party_id=account.party_id)
