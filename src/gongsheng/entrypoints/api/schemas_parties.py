"""Bodies of the routes by which the parties act for themselves: invitations, signings, the store,
terms, directories. Amounts and ids are strict JSON integers (a string, float or boolean is a 422)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from gongsheng.entrypoints.api.deps import MAX_ID
from gongsheng.entrypoints.api.schemas import In, KeyedPageOut, Name, Rate
from gongsheng.services.ordering import MAX_ORDER_FEN

StrictRef = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
StrictFen = Annotated[StrictInt, Field(ge=1, le=MAX_ORDER_FEN)]
Hours = Annotated[StrictInt, Field(ge=1, le=24 * 30)]
Username = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w.@+-]+$")]
Password = Annotated[str, Field(min_length=8, max_length=200)]


class InvitationIn(In):
    """An invitation for a party's login (a party that has none yet)."""

    party_id: StrictRef
    hours: Hours = 72


class InvitationOut(BaseModel):
    """A one-time link: ``token`` is shown here once; only its hash is stored."""

    invitation_id: int
    role: str
    party_id: int | None
    expires_at: dt.datetime
    token: str
    path: str


class InvitationInfo(BaseModel):
    role: str
    party_id: int | None
    party_name: str | None
    expires_at: dt.datetime


class AcceptIn(In):
    """The username and password the invited person chooses."""

    username: Username
    password: Password


class AccountOut(BaseModel):
    username: str
    role: str
    party_id: int | None


class SigningIn(In):
    """A merchant's terms as a BM, promoter or admin signs them (the signer binds itself)."""

    name: Name
    category: Annotated[str, Field(min_length=1, max_length=50)]
    channel: Literal["mall", "brand", "alliance"]
    region_id: StrictRef
    concession_rate: Rate | None = None
    accepts_vouchers: StrictBool = True
    bm_id: StrictRef | None = None
    bm_rate: Rate | None = None
    promoter_id: StrictRef | None = None


class PreviewIn(SigningIn):
    amount_fen: StrictFen = 10_000


class PreviewPart(BaseModel):
    part: str
    recipient: str
    amount_fen: int
    vacant: bool


class PreviewOut(BaseModel):
    """The split of one order under the proposed terms (writes nothing)."""

    amount_fen: int
    category: str
    concession_rate: str
    bm_rate: str | None
    concession_fen: int
    parts: list[PreviewPart]
    pool_fen: int
    consumer_cpts: int
    merchant_cpts: int
    consumer_cap_fen: int
    merchant_cap_fen: int


class SigningOut(BaseModel):
    merchant_id: int
    name: str
    category: str
    channel: str
    region_id: int
    concession_rate: str
    bm_id: int | None
    bm_rate: str | None
    promoter_id: int | None
    accepts_vouchers: bool
    status: Literal["pending", "approved", "rejected"]
    signer_role: str
    signer_id: int | None
    reason: str | None
    decided_by: str | None
    signed_at: str | None
    decided_at: str | None


class SigningPage(KeyedPageOut):
    items: list[SigningOut]


class ApprovalIn(In):
    hours: Hours = 72


class ApprovalOut(BaseModel):
    """An approved merchant and the one-time link to its login (none if it has a login)."""

    merchant_id: int
    status: Literal["approved"]
    invitation: InvitationOut | None


class RejectIn(In):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class RejectOut(BaseModel):
    merchant_id: int
    status: Literal["rejected"]
    reason: str


class TeamIn(In):
    """A promoter a partner invites to its team."""

    name: Name
    hours: Hours = 72


class TeamMemberOut(BaseModel):
    promoter_id: int
    partner_id: int
    name: str
    invitation: InvitationOut


class TermEndOut(BaseModel):
    partner_id: int
    term_end: int


class ProgrammeIn(In):
    """A shared-shareholder programme the calling merchant opens."""

    unit_price_cpts: Annotated[StrictInt, Field(ge=1, le=10**12)]
    units_offered: Annotated[StrictInt, Field(ge=1, le=10**9)]
    profit_share: Rate


class ProgrammeOut(BaseModel):
    programme_id: int
    merchant_id: int
    unit_price_cpts: int
    units_offered: int
    units_sold: int
    profit_share: str
    merchant: str | None = None


class ProgrammeList(KeyedPageOut):
    items: list[ProgrammeOut]


class ExchangeIn(In):
    units: Annotated[StrictInt, Field(ge=1, le=10**9)]


class ExchangeQuote(BaseModel):
    """What an exchange would cost and forfeit, shown before the consumer confirms."""

    programme_id: int
    units: int
    cost_cpts: int
    available_cpts: int
    units_left: int
    cap_forfeited_fen: int
    feasible: bool


class ExchangeOut(BaseModel):
    programme_id: int
    consumer_id: int
    units: int
    cost_cpts: int
    cap_forfeited_fen: int
    replayed: bool


class ProfitIn(In):
    profit_fen: Annotated[StrictInt, Field(ge=0, le=MAX_ORDER_FEN)]


class ProfitOut(BaseModel):
    programme_id: int
    period: int
    profit_fen: int
    paid_fen: int
    replayed: bool


class PartyRow(BaseModel):
    party_id: int
    kind: str
    name: str
    username: str | None


class PartyPage(KeyedPageOut):
    items: list[PartyRow]


class PartnerRow(BaseModel):
    partner_id: int
    name: str
    region_id: int
    region: str
    investment_fen: int
    term_start: int
    term_periods: int | None
    term_end: int | None
    active: bool


class PartnerPage(KeyedPageOut):
    items: list[PartnerRow]


def invitation_out(issued: Any) -> InvitationOut:
    """The API's view of an :class:`~gongsheng.services.invitations.IssuedInvitation`."""
    return InvitationOut(invitation_id=issued.invitation_id, role=issued.role,
                         party_id=issued.party_id, expires_at=issued.expires_at,
                         token=issued.token, path=issued.path)


class FreezeIn(In):
    """Why the party is frozen (kept with the freeze and in its event)."""

    reason: Annotated[str, Field(min_length=1, max_length=500)]


class FreezeRecordOut(BaseModel):
    reason: str
    frozen_by: str
    frozen_at: dt.datetime
    unfrozen_by: str | None
    unfrozen_at: dt.datetime | None


class FreezeOut(BaseModel):
    """Whether a party is frozen now; its freezes, newest first."""

    party_id: int
    kind: str
    frozen: bool
    reason: str | None
    history: list[FreezeRecordOut]
