"""The operator's directory of parties: search by name or id, filter by kind, one page at a time.

A city has tens of thousands of parties: every list is a page (``limit``/``offset``, newest
first, by primary key) with its total, and a search matches a name fragment or an exact id.
The parties' total is counted up to :data:`COUNT_CAP` (beyond it the page says only that there
is more), so the page costs the same at 8 million consumers as at 8 thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, or_, select

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import InvalidInput

KINDS = ("consumer", "merchant", "bm", "partner", "promoter")
COUNT_CAP = 10_000
"""Parties counted at most for a list's total; ``None`` beyond."""


def page(total: int | None, limit: int, offset: int, items: list[dict[str, Any]],
         more: bool = False) -> dict[str, Any]:
    """A page of ``items`` with the figures a pager needs (``total`` None: not counted, and
    ``more`` tells whether a next page exists)."""
    after = offset + limit < total if total is not None else more
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + limit if after else None}


def parties(conn: Connection, *, kind: str | None = None, q: str | None = None, limit: int = 50,
            offset: int = 0) -> dict[str, Any]:
    """Parties (never the platform), newest first, with their login's username if any."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    p = t.parties
    where: list[ColumnElement[bool]] = [p.c.kind.in_([kind] if kind else list(KINDS))]
    term = (q or "").strip()
    if term:
        where.append(or_(p.c.name.contains(term, autoescape=True),
                         *([p.c.id == int(term)] if term.isdigit() and len(term) < 16 else [])))
    counted = int(conn.execute(select(func.count()).select_from(
        select(p.c.id).where(*where).limit(COUNT_CAP + 1).subquery())).scalar_one())
    rows = conn.execute(select(p.c.id, p.c.kind, p.c.name, t.users.c.username)
                        .select_from(p.outerjoin(t.users, t.users.c.party_id == p.c.id))
                        .where(*where).order_by(p.c.id.desc()).limit(limit + 1).offset(offset)).all()
    return page(counted if counted <= COUNT_CAP else None, limit, offset, [
        {"party_id": int(r.id), "kind": r.kind, "name": r.name, "username": r.username}
        for r in rows[:limit]], more=len(rows) > limit)


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


def partners(conn: Connection, *, q: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Partners with their region, investment and term, newest first."""
    pa, p, r = t.partners, t.parties, t.regions
    where: list[ColumnElement[bool]] = []
    term = (q or "").strip()
    if term:
        where.append(or_(p.c.name.contains(term, autoescape=True), r.c.name.contains(term, autoescape=True)))
    base = pa.join(p, p.c.id == pa.c.party_id).join(r, r.c.id == pa.c.region_id)
    total = conn.execute(select(func.count()).select_from(base).where(*where)).scalar_one()
    rows = conn.execute(select(pa, p.c.name, r.c.name.label("region"))
                        .select_from(base).where(*where).order_by(pa.c.party_id.desc())
                        .limit(limit).offset(offset)).all()
    return page(int(total), limit, offset, [
        {"partner_id": int(x.party_id), "name": x.name, "region_id": int(x.region_id),
         "region": x.region, "investment_fen": int(x.investment_fen), "term_start": int(x.term_start),
         "term_periods": x.term_periods, "term_end": x.term_end, "active": bool(x.active)}
        for x in rows])


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
