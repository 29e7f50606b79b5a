"""The network: parties in their roles (regions, partners, promoters, business managers,
merchants, consumers) as registration and the network's changes write them."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Protocol

Role = Literal["region", "partner", "promoter", "business manager", "merchant", "consumer"]
"""What :meth:`NetworkStore.exists` looks up (a region is no party, the others are)."""


class NetworkStore(Protocol):
    """Every role row hangs off one party of that kind; a region has at most one active partner
    (a second one is refused: :class:`~gongsheng.domain.errors.AlreadyHeld`); a referral code
    names at most one consumer (:class:`~gongsheng.domain.errors.CodeTaken`)."""

    def exists(self, role: Role, key: int) -> bool:
        ...

    def add_party(self, kind: str, name: str) -> int:
        """A new party; its id."""
        ...

    def add_region(self, name: str, level: str, parent_id: int | None, merchant_universe: int) -> int:
        ...

    def region_holder(self, region_id: int) -> int | None:
        """The active partner holding the region, if any."""
        ...

    def add_partner(self, party_id: int, region_id: int, investment_fen: int, term_start: int) -> None:
        ...

    def add_promoter(self, party_id: int, partner_id: int) -> None:
        ...

    def add_business_manager(self, party_id: int) -> None:
        ...

    def add_merchant(self, party_id: int, *, category: str, channel: str, region_id: int,
                     concession_rate: Decimal, accepts_vouchers: bool, bm_id: int | None,
                     bm_rate: Decimal | None, promoter_id: int | None, active: bool) -> None:
        ...

    def add_consumer(self, party_id: int, referrer_id: int | None, home_merchant_id: int | None,
                     referral_code: str) -> None:
        """Store a consumer; a code already given is refused (``CodeTaken``) and leaves the
        transaction as it was, for another code to be tried."""
        ...

    def add_idle_referee(self, referrer_id: int) -> None:
        """One more consumer referred by ``referrer_id`` who has not ordered yet."""
        ...

    def consumer_by_referral_code(self, code: str) -> int | None:
        """The consumer whose stored code is exactly ``code``."""
        ...

    def merchant_contract(self, merchant_id: int) -> tuple[Decimal | None] | None:
        """``(BM contract rate or None,)`` of a merchant; None for no such merchant."""
        ...

    def set_concession_rate(self, merchant_id: int, rate: Decimal) -> None:
        ...

    def partner_active(self, partner_id: int) -> bool | None:
        """Whether the partner's term runs; None for no such partner."""
        ...

    def set_term_periods(self, partner_id: int, term_periods: int) -> None:
        ...

    def end_term(self, partner_id: int, period: int) -> None:
        """End an active partner's term in ``period``."""
        ...
