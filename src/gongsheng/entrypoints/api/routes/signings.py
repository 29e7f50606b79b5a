"""Merchant signings: a BM or promoter signs (pending), the operator approves or rejects."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from gongsheng.domain.errors import Forbidden
from gongsheng.entrypoints.api.auth import Principal
from gongsheng.entrypoints.api.deps import (
    ActingPlatform,
    AdminUser,
    Before,
    CurrentUser,
    Limit,
    Offset,
    PartyId,
    PlatformDep,
)
from gongsheng.entrypoints.api.schemas_parties import (
    ApprovalIn,
    ApprovalOut,
    PreviewIn,
    PreviewOut,
    RejectIn,
    RejectOut,
    SigningIn,
    SigningOut,
    SigningPage,
    invitation_out,
)
from gongsheng.services import signing
from gongsheng.services.registry import MerchantTerms
from gongsheng.services.unit_of_work import UnitOfWork, stores_on
from gongsheng.views import signings

router = APIRouter(tags=["signings"])


def signer_of(user: Principal) -> signing.Signer:
    if user.role not in signing.SIGNERS:
        raise Forbidden("merchants are signed by business managers, promoters and administrators")
    return signing.Signer(user.role, user.party_id, user.username)


def terms_of(body: SigningIn) -> MerchantTerms:
    return MerchantTerms(body.name, body.category, body.channel, body.region_id,
                         body.concession_rate.strip() if body.concession_rate else None,
                         body.accepts_vouchers, body.bm_id,
                         body.bm_rate.strip() if body.bm_rate else None, body.promoter_id)


def _one(uow: UnitOfWork, merchant_id: int) -> SigningOut:
    return SigningOut(**signings.signings(uow.conn, merchant_id=merchant_id, limit=1).items[0])


@router.post("/merchant-signings/preview", response_model=PreviewOut)
def preview(body: PreviewIn, user: CurrentUser, platform: PlatformDep) -> PreviewOut:
    """The waterfall of an order under proposed terms; 422 with the reason if infeasible."""
    signer = signer_of(user)
    return PreviewOut(**platform.read(
        lambda c: signing.preview(stores_on(c), signer, terms_of(body), body.amount_fen)))


@router.post("/merchant-signings", status_code=201, response_model=SigningOut)
def sign(body: SigningIn, user: CurrentUser, platform: ActingPlatform) -> SigningOut:
    """Sign a merchant (BM: bound to itself; promoter: in its partner's region); it starts pending."""
    signer = signer_of(user)
    return platform.run(lambda uow: _one(uow, signing.sign(uow, signer, terms_of(body))))


@router.get("/merchant-signings", response_model=SigningPage)
def list_signings(user: CurrentUser, platform: PlatformDep,
                  status: Literal["pending", "approved", "rejected"] | None = None,
                  q: Annotated[str | None, Query(max_length=100)] = None,
                  limit: Limit = 50, offset: Offset = 0, before: Before = None) -> SigningPage:
    """Signings, newest first: all for an admin, a signer's own otherwise; searchable, paged by
    key (``next_before``)."""
    signer = signer_of(user)
    mine = None if signer.role == "admin" else signer.party_id
    found = platform.read(lambda c: signings.signings(
        c, status=status, signer_id=mine, q=q, limit=limit, before=before))
    return SigningPage(items=[SigningOut(**i) for i in found.items],
                       **SigningPage.fields_of(found, limit))


@router.post("/merchants/{party_id}/approve", response_model=ApprovalOut)
def approve(party_id: PartyId, user: AdminUser, platform: ActingPlatform,
            body: ApprovalIn | None = None) -> ApprovalOut:
    """Approve a pending merchant (admin): it trades from now on; returns its one-time login link."""
    issued = platform.run(signing.approve, party_id, user.username, body.hours if body else 72)
    return ApprovalOut(merchant_id=party_id, status="approved",
                       invitation=invitation_out(issued) if issued else None)


@router.post("/merchants/{party_id}/reject", response_model=RejectOut)
def reject(party_id: PartyId, body: RejectIn, user: AdminUser, platform: ActingPlatform) -> RejectOut:
    """Reject a pending merchant with a reason (admin)."""
    platform.run(signing.reject, party_id, user.username, body.reason)
    return RejectOut(merchant_id=party_id, status="rejected", reason=body.reason.strip())
