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

from sqlalchemy import Connection, Table, bindparam, insert, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.totals_store import add_idle_referee
from gongsheng.domain.errors import AlreadyHeld, CodeTaken, InvalidInput, NotFound
from gongsheng.domain.events import PartyRegistered
from gongsheng.domain.money import parse_rate
from gongsheng.domain.policy import Policy
from gongsheng.services.books import LIFETIME, add_counters, current_policy, open_period
from gongsheng.services.unit_of_work import UnitOfWork

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


def _party(uow: UnitOfWork, kind: str, name: str) -> int:
    """A new party of ``kind``; records that it registered."""
    name = _name(name, kind)
    party = int(uow.conn.execute(insert(t.parties).returning(t.parties.c.id),
                                 {"kind": kind, "name": name}).scalar_one())
    uow.record(PartyRegistered(period=open_period(uow.conn).seq, party_id=party, kind=kind,
                               name=name))
    uow.audit("party.registered", f"party:{party}", {"kind": kind, "name": name})
    return party


def _exists(conn: Connection, table: Table, key: int | None, what: str) -> None:
    if key is None:
        return
    pk = next(iter(table.primary_key.columns))
    if conn.execute(select(pk).where(pk == key)).first() is None:
        raise NotFound(f"{what} {key} does not exist")


def create_region(uow: UnitOfWork, name: str, level: str = "city", parent_id: int | None = None,
                  merchant_universe: int = 0) -> int:
    """A region of the tree province > city > district, with its estimated merchant universe."""
    if level not in LEVELS:
        raise InvalidInput(f"region level must be one of {', '.join(LEVELS)}")
    if merchant_universe < 0:
        raise InvalidInput("merchant_universe must not be negative")
    _exists(uow.conn, t.regions, parent_id, "parent region")
    name = _name(name, "region")
    region = int(uow.conn.execute(insert(t.regions).returning(t.regions.c.id), {
        "name": name, "level": level, "parent_id": parent_id,
        "merchant_universe": merchant_universe}).scalar_one())
    uow.audit("region.created", f"region:{region}", {
        "name": name, "level": level, "parent_id": parent_id,
        "merchant_universe": merchant_universe})
    return region


def create_partner(uow: UnitOfWork, name: str, region_id: int, investment_fen: int) -> int:
    """A city partner holding a region from the current period; refused if the region is held."""
    if investment_fen < 0:
        raise InvalidInput("investment_fen must not be negative")
    _exists(uow.conn, t.regions, region_id, "region")
    held = uow.conn.execute(select(t.partners.c.party_id).where(
        t.partners.c.region_id == region_id, t.partners.c.active)).first()
    if held is not None:
        raise AlreadyHeld(f"region {region_id} is already held by partner {held[0]}")
    party = _party(uow, "partner", name)
    uow.conn.execute(insert(t.partners), {  # a concurrent holder: AlreadyHeld from the adapter
        "party_id": party, "region_id": region_id, "investment_fen": investment_fen,
        "term_start": open_period(uow.conn).seq, "active": True})
    return party


def create_promoter(uow: UnitOfWork, name: str, partner_id: int) -> int:
    """A ground promoter (地推) in a partner's team."""
    _exists(uow.conn, t.partners, partner_id, "partner")
    party = _party(uow, "promoter", name)
    uow.conn.execute(insert(t.promoters), {"party_id": party, "partner_id": partner_id})
    return party


def create_business_manager(uow: UnitOfWork, name: str) -> int:
    """A business manager (商务经理) who signs merchants."""
    party = _party(uow, "bm", name)
    uow.conn.execute(insert(t.business_managers), {"party_id": party})
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


def create_merchant(uow: UnitOfWork, terms: MerchantTerms, *, pending: bool = False) -> int:
    """Sign a merchant; refused when its concession or BM contract breaks the policy.

    A ``pending`` merchant is stored inactive (it takes no order) and counted only when it is
    approved (:func:`count_merchant`, from :mod:`gongsheng.services.signing`).
    """
    conn = uow.conn
    period, policy = current_policy(conn)
    if terms.channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}")
    category, rate, bm_rate = merchant_rates(policy, terms)
    _exists(conn, t.regions, terms.region_id, "region")
    _exists(conn, t.business_managers, terms.bm_id, "business manager")
    _exists(conn, t.promoters, terms.promoter_id, "promoter")
    party = _party(uow, "merchant", terms.name)
    conn.execute(insert(t.merchants), {
        "party_id": party, "category": category, "channel": terms.channel,
        "region_id": terms.region_id, "concession_rate": str(rate),
        "accepts_vouchers": bool(terms.accepts_vouchers), "bm_id": terms.bm_id,
        "bm_rate": str(bm_rate) if bm_rate is not None else None,
        "promoter_id": terms.promoter_id, "active": not pending})
    if not pending:
        count_merchant(conn, terms.channel, terms.region_id, period.seq)
    return party


def count_merchant(conn: Connection, channel: str, region_id: int, period: int) -> None:
    """Count a merchant that starts trading in ``period`` (lifetime, channel, region, period)."""
    add_counters(conn, LIFETIME, {"merchants": 1, f"merchants:channel:{channel}": 1,
                                  f"merchants:region:{region_id}": 1})
    add_counters(conn, period, {"new_merchants": 1})


def create_consumer(uow: UnitOfWork, name: str, referrer_id: int | None = None,
                    home_merchant_id: int | None = None) -> int:
    """A consumer, optionally referred by another consumer and brought in by a merchant."""
    conn = uow.conn
    _exists(conn, t.consumers, referrer_id, "referrer")
    _exists(conn, t.merchants, home_merchant_id, "home merchant")
    party = _party(uow, "consumer", name)
    for attempt in range(REFERRAL_CODE_ATTEMPTS):
        try:
            with conn.begin_nested():
                conn.execute(insert(t.consumers), {
                    "party_id": party, "referrer_id": referrer_id,
                    "home_merchant_id": home_merchant_id, "referral_code": new_referral_code()})
            break
        except CodeTaken:  # the code was drawn before: draw another
            if attempt == REFERRAL_CODE_ATTEMPTS - 1:
                raise
    add_counters(conn, LIFETIME, {"consumers": 1})
    add_counters(conn, open_period(conn).seq, {"new_consumers": 1})
    if referrer_id is not None:
        add_idle_referee(conn, referrer_id)
    return party


def consumer_by_referral_code(uow: UnitOfWork, code: str) -> int:
    """The consumer a referral code names, read as typed (any case, spaces or dashes, and the
    letters Crockford's alphabet leaves out read as the digits they look like). Codes given
    before codes were base 32 (eight hexadecimal digits) are found as they were stored."""
    by_code = select(t.consumers.c.party_id).where(t.consumers.c.referral_code == bindparam("c"))
    found = uow.conn.execute(by_code, {"c": normalise_referral_code(code)}).scalar_one_or_none()
    if found is None:
        found = uow.conn.execute(by_code, {"c": code.strip().lower()}).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no consumer has referral code {code!r}")
    return int(found)


def set_merchant_rate(uow: UnitOfWork, merchant_id: int, rate: Decimal) -> None:
    """Change a merchant's concession rate (checked against its BM contract)."""
    row = uow.conn.execute(select(t.merchants.c.bm_rate)
                           .where(t.merchants.c.party_id == merchant_id)).first()
    if row is None:
        raise NotFound(f"merchant {merchant_id} does not exist")
    _, policy = current_policy(uow.conn)
    if row[0] is not None:
        policy.check_contract(rate, Decimal(row[0]))
    else:
        policy.check_concession_rate(rate)
    uow.conn.execute(t.merchants.update().where(t.merchants.c.party_id == merchant_id)
                     .values(concession_rate=str(rate)))
    uow.audit("merchant.rate_changed", f"party:{merchant_id}", {"concession_rate": str(rate)})
