"""Registering the parties: regions, partners, promoters, business managers, merchants, consumers.

Invariants kept here: one active partner per region (also a unique index); a merchant's
concession rate lies within the policy's bounds and its BM contract keeps the waterfall
feasible at that rate; a promoter belongs to a partner; a consumer never refers itself; every
consumer has its own referral code (random, retried on the rare repeat).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from gongsheng.domain.errors import AlreadyHeld, CodeTaken, InvalidInput, NotFound
from gongsheng.domain.events import PartyRegistered
from gongsheng.domain.money import parse_rate
from gongsheng.domain.periods import LIFETIME
from gongsheng.domain.policy import Policy
from gongsheng.services.books import policy_in_force
from gongsheng.services.ports.network import Role
from gongsheng.services.ports.work import Stores, Work

CHANNELS = ("mall", "brand", "alliance")
LEVELS = ("province", "city", "district")

REFERRAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: digits and capitals without I, L, O and U (nothing to misread)."""
REFERRAL_CODE_LENGTH = 8
"""Characters of a referral code: 40 random bits, 1.1 x 10^12 codes."""
REFERRAL_CODE_ATTEMPTS = 8
_MISREAD = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})


def new_referral_code() -> str:
    """A random referral code (``REFERRAL_CODE_LENGTH`` characters of :data:`REFERRAL_ALPHABET`).

    Short enough to type from a poster or read out, and sparse: with a million consumers a random
    guess names one with odds of 1 in a million. A code drawn twice (at a million consumers, about
    once in a million registrations) is refused by the column's unique index and drawn again.
    """
    bits = secrets.randbits(5 * REFERRAL_CODE_LENGTH)
    return "".join(REFERRAL_ALPHABET[(bits >> (5 * i)) & 31]
                   for i in reversed(range(REFERRAL_CODE_LENGTH)))


def normalise_referral_code(code: str) -> str:
    """A typed referral code in its stored form: capitals, no spaces or dashes, ``I``/``L`` read
    as ``1`` and ``O`` as ``0``."""
    return code.strip().upper().translate(_MISREAD)


def _name(name: str, what: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(f"{what} name must be 1 to 200 characters")
    return name


def _party(uow: Work, kind: str, name: str) -> int:
    """A new party of ``kind``; records that it registered."""
    name = _name(name, kind)
    party = uow.network.add_party(kind, name)
    uow.record(PartyRegistered(period=uow.periods.open_period().seq, party_id=party, kind=kind,
                               name=name))
    uow.audit("party.registered", f"party:{party}", {"kind": kind, "name": name})
    return party


def _exists(stores: Stores, role: Role, key: int | None, what: str) -> None:
    if key is None:
        return
    if not stores.network.exists(role, key):
        raise NotFound(f"{what} {key} does not exist")


def create_region(uow: Work, name: str, level: str = "city", parent_id: int | None = None,
                  merchant_universe: int = 0) -> int:
    """A region of the tree province > city > district, with its estimated merchant universe."""
    if level not in LEVELS:
        raise InvalidInput(f"region level must be one of {', '.join(LEVELS)}")
    if merchant_universe < 0:
        raise InvalidInput("merchant_universe must not be negative")
    _exists(uow, "region", parent_id, "parent region")
    name = _name(name, "region")
    region = uow.network.add_region(name, level, parent_id, merchant_universe)
    uow.audit("region.created", f"region:{region}", {
        "name": name, "level": level, "parent_id": parent_id,
        "merchant_universe": merchant_universe})
    return region


def create_partner(uow: Work, name: str, region_id: int, investment_fen: int) -> int:
    """A city partner holding a region from the current period; refused if the region is held."""
    if investment_fen < 0:
        raise InvalidInput("investment_fen must not be negative")
    _exists(uow, "region", region_id, "region")
    held = uow.network.region_holder(region_id)
    if held is not None:
        raise AlreadyHeld(f"region {region_id} is already held by partner {held}")
    party = _party(uow, "partner", name)
    # a concurrent holder: AlreadyHeld from the adapter
    uow.network.add_partner(party, region_id, investment_fen, uow.periods.open_period().seq)
    return party


def create_promoter(uow: Work, name: str, partner_id: int) -> int:
    """A ground promoter (地推) in a partner's team."""
    _exists(uow, "partner", partner_id, "partner")
    party = _party(uow, "promoter", name)
    uow.network.add_promoter(party, partner_id)
    return party


def create_business_manager(uow: Work, name: str) -> int:
    """A business manager (商务经理) who signs merchants."""
    party = _party(uow, "bm", name)
    uow.network.add_business_manager(party)
    return party


@dataclass(frozen=True)
class MerchantTerms:
    """What a merchant signs: category, channel, region, concession and BM contract."""

    name: str
    category: str
    channel: str
    region_id: int
    concession_rate: str | None = None  # None: the category's default
    accepts_vouchers: bool = True
    bm_id: int | None = None
    bm_rate: str | None = None
    promoter_id: int | None = None


def merchant_rates(policy: Policy, terms: MerchantTerms) -> tuple[str, Decimal, Decimal | None]:
    """``(category, concession rate, BM contract rate)`` of the terms, checked against the policy.

    Refused (:class:`InvalidInput`, or :class:`InfeasibleSplit` with the reason) when the rate is
    out of bounds or the contract would leave the waterfall's rounded parts above the concession.
    """
    category = (terms.category or "").strip().lower()
    if not category:
        raise InvalidInput("category is required")
    rate = (parse_rate(terms.concession_rate, name="concession_rate")
            if terms.concession_rate is not None else policy.rate_for_category(category))
    contract = policy.contract_part
    if terms.bm_id is None and terms.bm_rate is not None:
        raise InvalidInput("bm_rate given without bm_id")
    if terms.bm_id is not None and contract is not None and terms.bm_rate is None:
        raise InvalidInput("bm_rate is required when a business manager is bound")
    bm_rate = parse_rate(terms.bm_rate, name="bm_rate") if terms.bm_rate is not None else None
    if bm_rate is not None:
        policy.check_contract(rate, bm_rate)
    else:
        policy.check_concession_rate(rate)
    return category, rate, bm_rate


def create_merchant(uow: Work, terms: MerchantTerms, *, pending: bool = False) -> int:
    """Sign a merchant; refused when its concession or BM contract breaks the policy.

    A ``pending`` merchant is stored inactive (it takes no order) and counted only when it is
    approved (:func:`count_merchant`, from :mod:`gongsheng.services.signing`).
    """
    period, policy = policy_in_force(uow)
    if terms.channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}")
    category, rate, bm_rate = merchant_rates(policy, terms)
    _exists(uow, "region", terms.region_id, "region")
    _exists(uow, "business manager", terms.bm_id, "business manager")
    _exists(uow, "promoter", terms.promoter_id, "promoter")
    party = _party(uow, "merchant", terms.name)
    uow.network.add_merchant(party, category=category, channel=terms.channel,
                             region_id=terms.region_id, concession_rate=rate,
                             accepts_vouchers=bool(terms.accepts_vouchers), bm_id=terms.bm_id,
                             bm_rate=bm_rate, promoter_id=terms.promoter_id, active=not pending)
    if not pending:
        count_merchant(uow, terms.channel, terms.region_id, period.seq)
    return party


def count_merchant(stores: Stores, channel: str, region_id: int, period: int) -> None:
    """Count a merchant that starts trading in ``period`` (lifetime, channel, region, period)."""
    stores.periods.add_counters(LIFETIME, {"merchants": 1, f"merchants:channel:{channel}": 1,
                                           f"merchants:region:{region_id}": 1})
    stores.periods.add_counters(period, {"new_merchants": 1})


def create_consumer(uow: Work, name: str, referrer_id: int | None = None,
                    home_merchant_id: int | None = None) -> int:
    """A consumer, optionally referred by another consumer and brought in by a merchant."""
    _exists(uow, "consumer", referrer_id, "referrer")
    _exists(uow, "merchant", home_merchant_id, "home merchant")
    party = _party(uow, "consumer", name)
    for attempt in range(REFERRAL_CODE_ATTEMPTS):
        try:
            uow.network.add_consumer(party, referrer_id, home_merchant_id, new_referral_code())
            break
        except CodeTaken:  # the code was drawn before: draw another
            if attempt == REFERRAL_CODE_ATTEMPTS - 1:
                raise
    uow.periods.add_counters(LIFETIME, {"consumers": 1})
    uow.periods.add_counters(uow.periods.open_period().seq, {"new_consumers": 1})
    if referrer_id is not None:
        uow.network.add_idle_referee(referrer_id)
    return party


def consumer_by_referral_code(uow: Work, code: str) -> int:
    """The consumer a referral code names, read as typed (any case, spaces or dashes, and the
    letters Crockford's alphabet leaves out read as the digits they look like). Codes given
    before codes were base 32 (eight hexadecimal digits) are found as they were stored."""
    found = uow.network.consumer_by_referral_code(normalise_referral_code(code))
    if found is None:
        found = uow.network.consumer_by_referral_code(code.strip().lower())
    if found is None:
        raise NotFound(f"no consumer has referral code {code!r}")
    return found


def set_merchant_rate(uow: Work, merchant_id: int, rate: Decimal) -> None:
    """Change a merchant's concession rate (checked against its BM contract)."""
    contract = uow.network.merchant_contract(merchant_id)
    if contract is None:
        raise NotFound(f"merchant {merchant_id} does not exist")
    _, policy = policy_in_force(uow)
    if contract[0] is not None:
        policy.check_contract(rate, contract[0])
    else:
        policy.check_concession_rate(rate)
    uow.network.set_concession_rate(merchant_id, rate)
    uow.audit("merchant.rate_changed", f"party:{merchant_id}", {"concession_rate": str(rate)})
