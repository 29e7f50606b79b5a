"""Directories for the operator (search and paging) and the partners' terms and teams."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

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
    PartnerPage,
    PartyPage,
    TeamIn,
    TeamMemberOut,
    TermEndOut,
    invitation_out,
)
from gongsheng.services import invitations, registry, terms
from gongsheng.services.unit_of_work import UnitOfWork
from gongsheng.views import directory

router = APIRouter(tags=["parties"])
Search = Annotated[str | None, Query(max_length=100, description=(
    "an exact id, or a name fragment (a name's start when shorter than three characters)"))]


@router.get("/parties", response_model=PartyPage)
def list_parties(_: AdminUser, platform: PlatformDep,
                 kind: Literal["consumer", "merchant", "bm", "partner", "promoter"] | None = None,
                 q: Search = None, limit: Limit = 50, offset: Offset = 0,
                 before: Before = None) -> PartyPage:
    """Parties, newest first, by kind and name or id (admin); paged by key (``next_before``)."""
    found = platform.read(lambda c: directory.parties(c, kind=kind, q=q, limit=limit,
                                                      before=before))
    return PartyPage(items=found.items, **PartyPage.fields_of(found, limit))


@router.get("/partners", response_model=PartnerPage)
def list_partners(_: AdminUser, platform: PlatformDep, q: Search = None, limit: Limit = 50,
                  offset: Offset = 0, before: Before = None) -> PartnerPage:
    """Partners with region, investment and term, newest first (admin); paged by key."""
    found = platform.read(lambda c: directory.partners(c, q=q, limit=limit, before=before))
    return PartnerPage(items=found.items, **PartnerPage.fields_of(found, limit))


@router.post("/partners/{party_id}/end-term", response_model=TermEndOut)
def end_term(party_id: PartyId, _: AdminUser, platform: ActingPlatform) -> TermEndOut:
    """End a partner's term (admin): from the next order its region's share goes to the pool."""
    return TermEndOut(partner_id=party_id, term_end=platform.run(terms.end_term, party_id))


@router.post("/partners/{party_id}/team", status_code=201, response_model=TeamMemberOut)
def invite_promoter(party_id: PartyId, body: TeamIn, user: CurrentUser,
                    platform: ActingPlatform) -> TeamMemberOut:
    """A partner adds a promoter to its team and gets the promoter's one-time login link."""
    user.require_own(party_id, "this partner's team")

    def use_case(uow: UnitOfWork) -> TeamMemberOut:
        promoter = registry.create_promoter(uow, body.name, party_id)
        issued = invitations.invite(uow, promoter, user.username, body.hours)
        return TeamMemberOut(promoter_id=promoter, partner_id=party_id, name=body.name.strip(),
                             invitation=invitation_out(issued))

    return platform.run(use_case)
