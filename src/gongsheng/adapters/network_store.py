"""Where the network is kept: regions and the role rows of parties (``tables.partners``,
``promoters``, ``business_managers``, ``merchants``, ``consumers``)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.totals_store import add_idle_referee

_ROLES: dict[str, Table] = {
    "region": t.regions, "partner": t.partners, "promoter": t.promoters,
    "business manager": t.business_managers, "merchant": t.merchants, "consumer": t.consumers}

_by_code = select(t.consumers.c.party_id).where(t.consumers.c.referral_code == bindparam("c"))


class SqlNetworkStore:
    """:class:`~gongsheng.services.ports.network.NetworkStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def exists(self, role: str, key: int) -> bool:
        table = _ROLES[role]
        pk = next(iter(table.primary_key.columns))
        return self.conn.execute(select(pk).where(pk == key)).first() is not None

    def add_party(self, kind: str, name: str) -> int:
        return int(self.conn.execute(insert(t.parties).returning(t.parties.c.id),
                                     {"kind": kind, "name": name}).scalar_one())

    def add_region(self, name: str, level: str, parent_id: int | None, merchant_universe: int) -> int:
        return int(self.conn.execute(insert(t.regions).returning(t.regions.c.id), {
            "name": name, "level": level, "parent_id": parent_id,
            "merchant_universe": merchant_universe}).scalar_one())

    def region_holder(self, region_id: int) -> int | None:
        held = self.conn.execute(select(t.partners.c.party_id).where(
            t.partners.c.region_id == region_id, t.partners.c.active)).first()
        return None if held is None else int(held[0])

    def add_partner(self, party_id: int, region_id: int, investment_fen: int, term_start: int) -> None:
        self.conn.execute(insert(t.partners), {  # a concurrent holder: AlreadyHeld
            "party_id": party_id, "region_id": region_id, "investment_fen": investment_fen,
            "term_start": term_start, "active": True})

    def add_promoter(self, party_id: int, partner_id: int) -> None:
        self.conn.execute(insert(t.promoters), {"party_id": party_id, "partner_id": partner_id})

    def add_business_manager(self, party_id: int) -> None:
        self.conn.execute(insert(t.business_managers), {"party_id": party_id})

    def add_merchant(self, party_id: int, *, category: str, channel: str, region_id: int,
                     concession_rate: Decimal, accepts_vouchers: bool, bm_id: int | None,
                     bm_rate: Decimal | None, promoter_id: int | None, active: bool) -> None:
        self.conn.execute(insert(t.merchants), {
            "party_id": party_id, "category": category, "channel": channel,
            "region_id": region_id, "concession_rate": str(concession_rate),
            "accepts_vouchers": accepts_vouchers, "bm_id": bm_id,
            "bm_rate": str(bm_rate) if bm_rate is not None else None,
            "promoter_id": promoter_id, "active": active})

    def add_consumer(self, party_id: int, referrer_id: int | None, home_merchant_id: int | None,
                     referral_code: str) -> None:
        with self.conn.begin_nested():
            self.conn.execute(insert(t.consumers), {
                "party_id": party_id, "referrer_id": referrer_id,
                "home_merchant_id": home_merchant_id, "referral_code": referral_code})

    def add_idle_referee(self, referrer_id: int) -> None:
        add_idle_referee(self.conn, referrer_id)

    def consumer_by_referral_code(self, code: str) -> int | None:
        found = self.conn.execute(_by_code, {"c": code}).scalar_one_or_none()
        return None if found is None else int(found)

    def merchant_contract(self, merchant_id: int) -> tuple[Decimal | None] | None:
        row = self.conn.execute(select(t.merchants.c.bm_rate)
                                .where(t.merchants.c.party_id == merchant_id)).first()
        if row is None:
            return None
        return (Decimal(row[0]) if row[0] is not None else None,)

    def set_concession_rate(self, merchant_id: int, rate: Decimal) -> None:
        self.conn.execute(update(t.merchants).where(t.merchants.c.party_id == merchant_id)
                          .values(concession_rate=str(rate)))

    def partner_active(self, partner_id: int) -> bool | None:
        row = self.conn.execute(select(t.partners.c.active)
                                .where(t.partners.c.party_id == partner_id)).first()
        return None if row is None else bool(row.active)

    def set_term_periods(self, partner_id: int, term_periods: int) -> None:
        self.conn.execute(update(t.partners).where(t.partners.c.party_id == partner_id)
                          .values(term_periods=term_periods))

    def end_term(self, partner_id: int, period: int) -> None:
        self.conn.execute(update(t.partners).where(t.partners.c.party_id == partner_id,
                                                   t.partners.c.active)
                          .values(active=False, term_end=period))
