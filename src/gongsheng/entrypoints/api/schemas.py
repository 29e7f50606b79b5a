"""Request and response bodies. Money is integer fen (``*_fen``), points integer centi-points
(``*_cpts``), rates decimal strings.

Request bodies (:class:`In`) refuse unknown fields and are validated strictly: an amount or an
id is a JSON integer, a flag a JSON boolean, a name a JSON string. Nothing is coerced: ``true``,
``"100"``, ``100.0`` and ``1e3`` where an integer belongs are a 422, never an amount.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from gongsheng.adapters.paging import KeyedPage
from gongsheng.adapters.policy_file import MAX_POLICY_CHARS
from gongsheng.adapters.tables import IDENTIFIER_LENGTH
from gongsheng.domain import pay_codes as codes
from gongsheng.domain.figures import PeriodFigures
from gongsheng.entrypoints.api.deps import MAX_ID
from gongsheng.services.ordering import MAX_ORDER_FEN
from gongsheng.services.pay_codes import MAX_VOUCHER_FEN

Ref = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Fen = Annotated[int, Field(ge=1, le=MAX_ORDER_FEN)]
RATE = r"^\s*[0-9]{1,3}(\.[0-9]{1,10})?\s*%?\s*$"
Rate = Annotated[str, Field(pattern=RATE, max_length=20, examples=["0.15", "15%"])]


class In(BaseModel):
    """A request body: unknown fields refused, every value of exactly its JSON type (strict)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Login(In):
    """A login to create with the party (username and password)."""

    username: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w.@+-]+$")]
    password: Annotated[str, Field(min_length=8, max_length=200)]


class RegionIn(In):
    name: Name
    level: Literal["province", "city", "district"] = "city"
    parent_id: Ref | None = None
    merchant_universe: Annotated[int, Field(ge=0, le=10**9)] = 0


class RegionOut(BaseModel):
    region_id: int
    name: str
    level: str
    parent_id: int | None
    merchant_universe: int


class PartnerIn(In):
    name: Name
    region_id: Ref
    investment_fen: Annotated[int, Field(ge=0, le=10**15)] = 0
    term_periods: Annotated[int, Field(strict=True, ge=1, le=1200)] | None = None
    login: Login | None = None


class PromoterIn(In):
    name: Name
    partner_id: Ref
    login: Login | None = None


class BusinessManagerIn(In):
    name: Name
    login: Login | None = None


class MerchantIn(In):
    name: Name
    category: Annotated[str, Field(min_length=1, max_length=50)]
    channel: Literal["mall", "brand", "alliance"]
    region_id: Ref
    concession_rate: Rate | None = None
    accepts_vouchers: bool = True
    bm_id: Ref | None = None
    bm_rate: Rate | None = None
    promoter_id: Ref | None = None
    login: Login | None = None


class ConsumerIn(In):
    """A consumer; ``referrer_id`` or ``referrer_code`` names who referred it (one level only)."""

    name: Name
    referrer_id: Ref | None = None
    referrer_code: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    home_merchant_id: Ref | None = None
    login: Login | None = None


class PartyOut(BaseModel):
    party_id: int
    kind: str
    name: str
    username: str | None = None
    referral_code: str | None = None


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: str
    party_id: int | None


class MeOut(BaseModel):
    username: str
    role: str
    party_id: int | None
    party: dict[str, Any] | None


Identifier = Annotated[StrictStr, Field(
    pattern=r"^[\x21-\x7e]+$", min_length=1, max_length=IDENTIFIER_LENGTH,
    examples=["sha256:9f2c1e"],
    description=f"1 to {IDENTIFIER_LENGTH} visible ASCII characters (no spaces)")]
PayCode = Annotated[StrictStr, Field(
    min_length=codes.LENGTH, max_length=4 * codes.LENGTH, examples=["7K3M-Q9XD-2HWA"],
    description=f"{codes.LENGTH} characters of Crockford base32 ({codes.BITS} random bits); "
                "case, spaces and hyphens are ignored, I and L read as 1, O as 0")]


class PayCodeIn(In):
    """A pay code to issue: the most vouchers one sale may use, optionally at one merchant."""

    max_voucher_fen: Annotated[StrictInt, Field(ge=1, le=MAX_VOUCHER_FEN)]
    merchant_id: Annotated[StrictInt, Field(ge=1, le=MAX_ID)] | None = None


class PayCodeOut(BaseModel):
    """An issued pay code; ``pay_code`` is shown this once and is not stored (only its hash)."""

    pay_code: str
    consumer_id: int
    merchant_id: int | None
    max_voucher_fen: int
    expires_at: dt.datetime
    expires_in: int


class RevokedOut(BaseModel):
    revoked: int


class OrderIn(In):
    """An order as the merchant or payment side reports it."""

    consumer_id: Ref
    merchant_id: Ref
    amount_fen: Fen
    voucher_fen: Annotated[int, Field(ge=0, le=MAX_ORDER_FEN)] = 0
    pay_code: PayCode | None = Field(default=None, description=(
        "the consumer's pay code, required when voucher_fen > 0 and refused otherwise: the "
        "consumer's consent to this sale's voucher part (see POST /consumers/{id}/pay-codes)"))
    payment_ref: Identifier | None = Field(default=None, description=(
        "a hash of the paying instrument, from the payment side (feeds the ring detectors)"))
    device_id: Identifier | None = Field(default=None, description=(
        "the paying device, from the payment side (feeds the ring detectors)"))


class Allocation(BaseModel):
    part: str
    recipient: str
    party_id: int | None
    amount_fen: int
    vacant: bool


class OrderOut(BaseModel):
    order_id: int
    period: int
    consumer_id: int
    merchant_id: int
    channel: str
    amount_fen: int
    voucher_fen: int
    voucher_cost_fen: int
    concession_rate: str
    concession_fen: int
    allocations: list[Allocation]
    pool_fen: int
    consumer_cpts: int
    merchant_cpts: int
    referrer_id: int | None
    referrer_cpts: int
    refunded_fen: int
    replayed: bool


class KeyedPageOut(BaseModel):
    """A page of a list paged by key, newest first (``adapters/paging.py``): no count, no offset;
    a walk that follows ``next_before`` serves every item once."""

    limit: int
    next_before: int | None
    """Pass as ``before`` for the next (older) page; null on the last page."""

    @classmethod
    def fields_of(cls, page: KeyedPage[Any], limit: int) -> dict[str, Any]:
        """The page's fields but its items, from the service's page."""
        return {"limit": limit, "next_before": page.older}


class OrderPage(KeyedPageOut):
    items: list[OrderOut]


class RefundIn(In):
    amount_fen: Fen


class RefundOut(BaseModel):
    refund_id: int
    order_id: int
    amount_fen: int
    refunded_total_fen: int
    concession_reversed_fen: int
    clawback_fen: int
    platform_cover_fen: int
    replayed: bool


class PayoutIn(In):
    """A withdrawal of cash; ``party_id`` defaults to the caller's own party."""

    party_id: Ref | None = None
    amount_fen: Fen


class PayoutOut(BaseModel):
    payout_id: int
    party_id: int
    amount_fen: int
    balance_after_fen: int
    replayed: bool


class Band(BaseModel):
    """A projection's p10 / p50 / p90 (null: beyond reach at the projected rate)."""

    p10: int | None
    p50: int | None
    p90: int | None


class HoldingOut(BaseModel):
    start_period: int
    cap_multiple: str
    points_cpts: int
    cap_fen: int
    released_fraction: str
    released_fen: int
    started: bool
    periods_to_complete: int | None
    projected_completion_period: Band | None = None  # the stored forecast's band; not a promise


class WalletOut(BaseModel):
    party_id: int
    kind: str
    points_cpts: int
    vouchers_fen: int
    voucher_debt_fen: int
    cash_fen: int
    units_cpts: int
    release_rate: str
    holdings: list[HoldingOut]
    frozen: bool = Field(description="frozen for review: no voucher spend, sale or withdrawal")
    vouchers_withheld_fen: int = Field(
        description="vouchers released to a frozen holder, settled to it when it is unfrozen")
    cash_held_fen: int = Field(description="cash earned within the hold window: not withdrawable yet")
    cash_available_fen: int = Field(description="cash that may be withdrawn now")
    projection_note: str


class CloseIn(In):
    """Close the open period; with ``period``, closing is idempotent (a closed one is returned)."""

    period: Annotated[int, Field(ge=1, le=10**6)] | None = None


class CloseOut(BaseModel):
    period: int
    controller: str
    nominal_periods: int
    release_rate: str
    nominal_rate: str
    released_fen: int
    unfunded_fen: int
    pool_available_fen: int
    pool_reserved_fen: int
    periods_to_complete: int | None
    figures: PeriodFigures
    already_closed: bool


@dataclass(frozen=True, kw_only=True)
class ClosedPeriodOut(PeriodFigures):
    """A closed period's stored figures with its dates (the figures' one definition, extended)."""

    starts_on: str
    ends_on: str


class KpisOut(BaseModel):
    periods: list[ClosedPeriodOut]
    open_period: dict[str, Any]


class AccountBalance(BaseModel):
    account_id: int
    account: str
    party_id: int | None
    kind: str
    asset: str
    balance: int


class TrialBalanceOut(BaseModel):
    accounts: list[AccountBalance]
    """A page of accounts by id (pass ``next_after`` as ``after`` for the next)."""
    by_kind: dict[str, int]
    """The whole ledger's balance per account kind (every party's accounts of a kind together)."""
    totals: dict[str, int]
    balanced: bool
    next_after: int | None


class StatementPeriod(BaseModel):
    period: int
    earned_fen: int
    reversed_fen: int
    paid_out_fen: int
    other_cash_fen: int
    net_cash_fen: int
    cash_fen: dict[str, int]
    points_cpts: dict[str, int]
    vouchers_fen: dict[str, int]
    voucher_debt_fen: dict[str, int]
    units_cpts: dict[str, int]


class HeldEarnings(BaseModel):
    """Earnings of one period still held, and the first period they may be withdrawn in."""

    earned_in_period: int
    held_fen: int
    available_from_period: int


class StatementOut(BaseModel):
    party_id: int
    kind: str
    periods: list[StatementPeriod]
    cash_balance_fen: int
    cash_held_fen: int = Field(description="earnings still in the hold window (policy hold_periods)")
    cash_available_fen: int = Field(description="what may be withdrawn now: balance less held")
    hold_periods: int
    holds: list[HeldEarnings]


class PartnerReport(BaseModel):
    partner_id: int
    investment_fen: int
    term_start: int
    active: bool
    term_end: int | None = None
    term_periods: int | None = None
    region: dict[str, Any]
    dividends: list[dict[str, Any]]
    dividends_total_fen: int
    payback: str | None
    payback_period: int | None
    team: list[dict[str, Any]]
    team_commissions_fen: int


class BoundMerchant(BaseModel):
    merchant_id: int
    name: str
    category: str
    channel: str
    region_id: int
    concession_rate: str
    bm_rate: str | None
    accepts_vouchers: bool
    active: bool


class BmMerchants(KeyedPageOut):
    """A BM's commissions, how many merchants are bound to it, and a page of them, newest first
    (``next_before`` for the next page)."""

    bm_id: int
    commissions_fen: int
    merchant_count: int
    merchants: list[BoundMerchant]


class PolicyIn(In):
    """A policy file's TOML text."""

    toml: Annotated[str, Field(min_length=1, max_length=MAX_POLICY_CHARS)]


class PolicyVersion(BaseModel):
    version_id: int
    name: str
    digest: str
    active_from_period: int | None
    created_at: str | None


class PolicyVersions(BaseModel):
    open_period: int
    current_version_id: int
    versions: list[PolicyVersion]


class PolicyScheduled(BaseModel):
    version_id: int
    name: str
    digest: str
    active_from_period: int


class RiskFlag(BaseModel):
    flag: str
    period: int
    party_id: int | None
    detail: str
    case_id: int | None = None


class RiskOut(BaseModel):
    period: int
    last_closed: int | None
    flags: list[RiskFlag]
