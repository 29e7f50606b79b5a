"""The operator's directory of parties: search by name or id, filter by kind, one page at a time.

A city has millions of parties: every list is a page by key, newest first (``before`` / ``after``
cursors, ``adapters/paging.py``), never counted and never offset, so a page costs the same at 8
million consumers as at 8 thousand, however deep. A search matches an exact id or a name
fragment (:func:`~gongsheng.adapters.paging.term_matches`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.paging import KeyedPage, keyed_page, term_matches
from gongsheng.domain.errors import InvalidInput

KINDS = ("consumer", "merchant", "bm", "partner", "promoter")


def parties(conn: Connection, *, kind: str | None = None, q: str | None = None, limit: int = 50,
            before: int | None = None, after: int | None = None,
            newer: bool = False) -> KeyedPage[dict[str, Any]]:
    """Parties (never the platform), newest first, with their login's username if any: one kind
    through ``(kind, id)``, all of them through the primary key."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    p = t.parties
    where: list[ColumnElement[bool]] = [p.c.kind == kind if kind else p.c.kind.in_(KINDS)]
    if (q or "").strip():
        where.append(term_matches(q or "", [p.c.name], [p.c.id]))
    query = (select(p.c.id, p.c.kind, p.c.name, t.users.c.username)
             .select_from(p.outerjoin(t.users, t.users.c.party_id == p.c.id)).where(*where))
    return keyed_page(conn, query, p.c.id, limit, before=before, after=after, newer=newer).map(
        lambda r: {"party_id": int(r.id), "kind": r.kind, "name": r.name, "username": r.username})


def party_count(conn: Connection) -> int:
    """How many parties there are besides the platform (exactly; a client's "is it empty")."""
    return int(conn.execute(select(func.count()).select_from(t.parties)
                            .where(t.parties.c.kind != "platform")).scalar_one())


@dataclass(frozen=True)
class Roster:
    """The ids of a whole city by role, for a client that drives every party (the demo).

    Each list is by id. ``merchants`` holds the active ones with what a sale needs
    (``(id, channel, category, accepts_vouchers)``); ``payees`` every party that earns cash
    (merchants, BMs, partners, promoters); ``programme`` the first shared-shareholder programme.
    """

    regions: list[int]
    merchants: list[tuple[int, str, str, bool]]
    consumers: list[int]
    payees: list[int]
    programme: int | None


def roster(conn: Connection) -> Roster:
    """Every region, active merchant, consumer and payee, and the first programme (O(parties))."""
    m = t.merchants
    return Roster(
        regions=[int(r) for r in conn.execute(select(t.regions.c.id).order_by(t.regions.c.id)).scalars()],
        merchants=[(int(i), str(c), str(cat), bool(v)) for i, c, cat, v in conn.execute(
            select(m.c.party_id, m.c.channel, m.c.category, m.c.accepts_vouchers)
            .where(m.c.active).order_by(m.c.party_id)).all()],
        consumers=[int(c) for c in conn.execute(
            select(t.consumers.c.party_id).order_by(t.consumers.c.party_id)).scalars()],
        payees=[int(p) for p in conn.execute(
            select(t.parties.c.id).where(t.parties.c.kind.in_(("merchant", "bm", "partner", "promoter")))
            .order_by(t.parties.c.id)).scalars()],
        programme=conn.execute(select(func.min(t.share_programmes.c.id))).scalar())


def partners(conn: Connection, *, q: str | None = None, limit: int = 50, before: int | None = None,
             after: int | None = None, newer: bool = False) -> KeyedPage[dict[str, Any]]:
    """Partners with their region, investment and term, newest first (by the primary key; one
    partner holds a region at a time, so they are as many as the regions' terms)."""
    pa, p, r = t.partners, t.parties, t.regions
    query = (select(pa, p.c.name, r.c.name.label("region"))
             .select_from(pa.join(p, p.c.id == pa.c.party_id).join(r, r.c.id == pa.c.region_id)))
    if (q or "").strip():
        query = query.where(term_matches(q or "", [p.c.name, r.c.name], [pa.c.party_id]))
    return keyed_page(conn, query, pa.c.party_id, limit, before=before, after=after,
                      newer=newer).map(lambda x: {
        "partner_id": int(x.party_id), "name": x.name, "region_id": int(x.region_id),
        "region": x.region, "investment_fen": int(x.investment_fen),
        "term_start": int(x.term_start), "term_periods": x.term_periods,
        "term_end": x.term_end, "active": bool(x.active)})


def regions(conn: Connection) -> list[dict[str, Any]]:
    """Every region with its active partner (the assign form's choices; regions are few)."""
    r, pa = t.regions, t.partners
    rows = conn.execute(select(r.c.id, r.c.name, r.c.level, pa.c.party_id)
                        .select_from(r.outerjoin(pa, (pa.c.region_id == r.c.id) & pa.c.active))
                        .order_by(r.c.id)).all()
    return [{"region_id": int(x.id), "name": x.name, "level": x.level,
             "partner_id": None if x.party_id is None else int(x.party_id)} for x in rows]


def team_merchants(conn: Connection, partner_id: int,
                   per_promoter: int = 50) -> dict[int, list[dict[str, Any]]]:
    """The merchants each promoter of a partner's team signed (newest first, a few per promoter)."""
    m, p, pr = t.merchants, t.parties, t.promoters
    rows = conn.execute(select(m.c.promoter_id, m.c.party_id, p.c.name, m.c.category, m.c.active)
                        .select_from(m.join(p, p.c.id == m.c.party_id)
                                     .join(pr, pr.c.party_id == m.c.promoter_id))
                        .where(pr.c.partner_id == partner_id)
                        .order_by(m.c.promoter_id, m.c.party_id.desc())).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        listed = out.setdefault(int(r.promoter_id), [])
        if len(listed) < per_promoter:
            listed.append({"merchant_id": int(r.party_id), "name": r.name, "category": r.category,
                           "active": bool(r.active)})
    return out
