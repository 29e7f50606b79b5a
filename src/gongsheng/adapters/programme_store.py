"""Where the store's share programmes, their holders' units and dividends are kept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import upsert_add
from gongsheng.adapters.paging import KeyedPage, keyed_page
from gongsheng.domain.programmes import Programme

_sp, _su, _sd = t.share_programmes, t.share_units, t.share_dividends


def programme_of(row: Any) -> Programme:
    return Programme(int(row.id), int(row.merchant_id), int(row.unit_price_cpts),
                     int(row.units_offered), int(row.units_sold), row.profit_share)


def open_programmes(conn: Connection, *, limit: int = 50,
                    before: int | None = None) -> KeyedPage[dict[str, Any]]:
    """Programmes with units left, with their merchants' names, newest first: one page by key
    (``ix_share_programmes_open`` holds only those with units left)."""
    query = (select(_sp, t.parties.c.name)
             .select_from(_sp.join(t.parties, t.parties.c.id == _sp.c.merchant_id))
             .where(_sp.c.units_sold < _sp.c.units_offered))
    return keyed_page(conn, query, _sp.c.id, limit, before=before).map(lambda r: {
        "programme_id": int(r.id), "merchant_id": int(r.merchant_id), "merchant": r.name,
        "unit_price_cpts": int(r.unit_price_cpts), "units_offered": int(r.units_offered),
        "units_sold": int(r.units_sold), "profit_share": r.profit_share})


def units_of(conn: Connection, holder_id: int) -> list[dict[str, Any]]:
    """The units a holder owns, per programme."""
    return [{"programme_id": int(p), "units": int(u)} for p, u in conn.execute(
        select(_su.c.programme_id, _su.c.units).where(_su.c.holder_id == holder_id, _su.c.units > 0)
        .order_by(_su.c.programme_id)).all()]


class SqlProgrammeStore:
    """:class:`~gongsheng.services.ports.programmes.ProgrammeStore` on a connection; ``lock``
    locks the programme's row (PostgreSQL), so exchanges and dividends of one programme run
    one after the other."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def merchant_active(self, merchant_id: int) -> bool | None:
        active = self.conn.execute(select(t.merchants.c.active)
                                   .where(t.merchants.c.party_id == merchant_id)).first()
        return None if active is None else bool(active[0])

    def add_programme(self, merchant_id: int, unit_price_cpts: int, units_offered: int,
                      profit_share: str) -> int:
        return int(self.conn.execute(insert(_sp).returning(_sp.c.id), {
            "merchant_id": merchant_id, "unit_price_cpts": unit_price_cpts,
            "units_offered": units_offered, "profit_share": profit_share}).scalar_one())

    def programme(self, programme_id: int, *, lock: bool = False) -> Programme | None:
        query = select(_sp).where(_sp.c.id == programme_id)
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        return None if row is None else programme_of(row)

    def sell_units(self, programme_id: int, holder_id: int, units: int) -> None:
        self.conn.execute(update(_sp).where(_sp.c.id == programme_id)
                          .values(units_sold=_sp.c.units_sold + units))
        upsert_add(self.conn, _su, ("programme_id", "holder_id"), ("units",),
                   [(programme_id, holder_id, units)])

    def dividend_declared(self, programme_id: int, period: int) -> bool:
        return self.conn.execute(select(_sd.c.period).where(
            _sd.c.programme_id == programme_id, _sd.c.period == period)).first() is not None

    def unit_holders(self, programme_id: int) -> list[tuple[int, int]]:
        return [(int(h), int(u)) for h, u in self.conn.execute(
            select(_su.c.holder_id, _su.c.units).where(_su.c.programme_id == programme_id,
                                                       _su.c.units > 0)
            .order_by(_su.c.holder_id)).all()]

    def add_dividend(self, programme_id: int, period: int, profit_fen: int, paid_fen: int) -> None:
        self.conn.execute(insert(_sd), {"programme_id": programme_id, "period": period,
                                        "profit_fen": profit_fen, "paid_fen": paid_fen})
