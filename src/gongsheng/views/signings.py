"""The signings of merchants as the operator and the signers page through them.

Every list is a page by key, newest first (``(status, merchant_id)`` or ``(signer_id,
merchant_id)`` from the cursor, ``adapters/paging.py``); a search matches the merchant's id or a
name fragment. A signer is shown only the merchants it signed (the caller passes its id).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.paging import KeyedPage, keyed_page, term_matches
from gongsheng.domain.errors import InvalidInput
from gongsheng.services.signing import STATUSES


def signings(conn: Connection, *, status: str | None = None, signer_id: int | None = None,
             q: str | None = None, merchant_id: int | None = None, limit: int = 50,
             before: int | None = None, after: int | None = None,
             newer: bool = False) -> KeyedPage[dict[str, Any]]:
    """Signed merchants, newest first by key, filtered by status, signer and a search (a name
    fragment or the merchant's id); one page (``(status, merchant_id)`` or ``(signer_id,
    merchant_id)`` from the cursor)."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    s, m, p = t.merchant_signings, t.merchants, t.parties
    where: list[ColumnElement[bool]] = []
    if status is not None:
        where.append(s.c.status == status)
    if signer_id is not None:
        where.append(s.c.signer_id == signer_id)
    if merchant_id is not None:
        where.append(s.c.merchant_id == merchant_id)
    if (q or "").strip():
        where.append(term_matches(q or "", [p.c.name], [s.c.merchant_id]))
    query = (select(s.c.merchant_id, p.c.name, m.c.category, m.c.channel, m.c.region_id,
                    m.c.concession_rate, m.c.bm_id, m.c.bm_rate, m.c.promoter_id,
                    m.c.accepts_vouchers, s.c.status, s.c.signer_role, s.c.signer_id, s.c.reason,
                    s.c.decided_by, s.c.created_at, s.c.decided_at)
             .select_from(s.join(m, m.c.party_id == s.c.merchant_id)
                          .join(p, p.c.id == s.c.merchant_id)).where(*where))
    return keyed_page(conn, query, s.c.merchant_id, limit, before=before, after=after,
                      newer=newer).map(_signing_view)


def _signing_view(row: Any) -> dict[str, Any]:
    r = row._mapping
    return {**{k: v for k, v in r.items() if k not in ("created_at", "decided_at")},
            "signed_at": r["created_at"].isoformat() if r["created_at"] else None,
            "decided_at": r["decided_at"].isoformat() if r["decided_at"] else None}
