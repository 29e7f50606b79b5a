"""Signing merchants (签约): a BM or promoter signs, the operator approves or rejects.

A business manager signs a merchant bound to itself at a contract rate; a ground promoter signs
merchants in its partner's region (no BM unless one is named by an admin); an admin may sign any.
The terms are checked like any merchant's (:func:`registry.merchant_rates`: an infeasible
contract is refused with the reason). A signed merchant starts ``pending``: stored inactive, it
takes no order and is not counted. The operator approves it (it becomes active, is counted from
the open period, and gets a one-time invitation to set its password) or rejects it with a reason
(it stays inactive for good). Invariants: only a pending merchant can be decided, once; a signer
sees only the merchants it signed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.paging import KeyedPage, keyed_page, term_matches
from gongsheng.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongsheng.domain.ledger import PLATFORM_PARTY_ID
from gongsheng.domain.money import apply_rate
from gongsheng.domain.waterfall import Beneficiaries, split_order
from gongsheng.services import invitations, registry
from gongsheng.services.books import current_policy, open_period
from gongsheng.services.unit_of_work import UnitOfWork

STATUSES = ("pending", "approved", "rejected")
SIGNERS = ("admin", "bm", "promoter")
PREVIEW_FEN = 10_000
"""The order amount the live preview splits when none is given (100 yuan)."""


@dataclass(frozen=True)
class Signer:
    """Who signs: an admin (no party), a business manager or a promoter."""

    role: str
    party_id: int | None
    username: str


def _region_of_promoter(conn: Connection, promoter_id: int) -> int:
    row = conn.execute(select(t.partners.c.region_id, t.partners.c.active)
                       .select_from(t.promoters.join(t.partners,
                                                     t.partners.c.party_id == t.promoters.c.partner_id))
                       .where(t.promoters.c.party_id == promoter_id)).first()
    if row is None:
        raise NotFound(f"promoter {promoter_id} does not exist")
    if not row.active:
        raise Forbidden("your partner's term has ended: its region takes no new signings from its team")
    return int(row.region_id)


def _in_region(conn: Connection, region_id: int, root: int) -> bool:
    """Whether ``region_id`` is ``root`` or lies under it (the tree is at most three deep)."""
    current: int | None = region_id
    for _ in range(8):
        if current is None:
            return False
        if current == root:
            return True
        current = conn.execute(select(t.regions.c.parent_id)
                               .where(t.regions.c.id == current)).scalar()
    return False


def signer_terms(conn: Connection, signer: Signer, terms: registry.MerchantTerms) -> registry.MerchantTerms:
    """The terms as the signer may sign them: a BM binds itself, a promoter signs in its region."""
    if signer.role == "admin":
        return terms
    if signer.role == "bm":
        if terms.bm_id not in (None, signer.party_id) or terms.promoter_id is not None:
            raise Forbidden("a business manager signs merchants bound to itself only")
        return dataclasses.replace(terms, bm_id=signer.party_id)
    if signer.role == "promoter":
        assert signer.party_id is not None
        if terms.bm_id is not None or terms.bm_rate is not None or terms.promoter_id not in (
                None, signer.party_id):
            raise Forbidden("a promoter signs merchants for itself, without a business manager")
        if not _in_region(conn, terms.region_id, _region_of_promoter(conn, signer.party_id)):
            raise Forbidden("a promoter signs merchants in its partner's region only")
        return dataclasses.replace(terms, promoter_id=signer.party_id)
    raise Forbidden(f"a {signer.role} does not sign merchants")


def sign(uow: UnitOfWork, signer: Signer, terms: registry.MerchantTerms) -> int:
    """Sign a merchant on ``terms``; it waits, inactive, for the operator's approval."""
    terms = signer_terms(uow.conn, signer, terms)
    merchant = registry.create_merchant(uow, terms, pending=True)
    uow.conn.execute(insert(t.merchant_signings), {
        "merchant_id": merchant, "status": "pending", "signer_role": signer.role,
        "signer_id": signer.party_id})
    return merchant


def preview(conn: Connection, signer: Signer, terms: registry.MerchantTerms,
            amount_fen: int = PREVIEW_FEN) -> dict[str, Any]:
    """The waterfall of an order of ``amount_fen`` under these terms: the region's partner and a
    home merchant assumed present, the BM and the promoter present as the terms bind them (a
    vacant part shows as going to the pool).

    Writes nothing; raises what signing would raise (the infeasible contract with its reason).
    """
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 0 < amount_fen <= 10**12:
        raise InvalidInput("amount_fen must be a positive integer")
    terms = signer_terms(conn, signer, terms)
    _, policy = current_policy(conn)
    category, rate, bm_rate = registry.merchant_rates(policy, terms)
    split = split_order(policy, amount_fen, rate, bm_rate if bm_rate is not None else Decimal(0),
                        Beneficiaries(PLATFORM_PARTY_ID, 0, 0 if terms.promoter_id else None,
                                      0 if terms.bm_id is not None else None, 0))
    points = split.concession_fen
    return {"amount_fen": amount_fen, "category": category, "concession_rate": str(rate),
            "bm_rate": None if bm_rate is None else str(bm_rate),
            "concession_fen": split.concession_fen,
            "parts": [{"part": a.part, "recipient": str(a.recipient.value), "amount_fen": a.amount_fen,
                       "vacant": a.vacant} for a in split.allocations],
            "pool_fen": split.pool_fen, "consumer_cpts": points, "merchant_cpts": points,
            "consumer_cap_fen": int(apply_rate(points, policy.consumer_cap_multiple)),
            "merchant_cap_fen": int(apply_rate(points, policy.merchant_cap_multiple))}


def _pending(conn: Connection, merchant_id: int) -> Any:
    row = conn.execute(select(t.merchant_signings, t.merchants.c.channel, t.merchants.c.region_id)
                       .select_from(t.merchant_signings.join(
                           t.merchants, t.merchants.c.party_id == t.merchant_signings.c.merchant_id))
                       .where(t.merchant_signings.c.merchant_id == merchant_id)).first()
    if row is None:
        raise NotFound(f"merchant {merchant_id} has no signing to decide")
    if row.status != "pending":
        raise Conflict(f"merchant {merchant_id} was already {row.status}")
    return row


def _decide(conn: Connection, merchant_id: int, status: str, by: str, reason: str | None) -> None:
    done = conn.execute(update(t.merchant_signings).where(
        t.merchant_signings.c.merchant_id == merchant_id, t.merchant_signings.c.status == "pending")
        .values(status=status, decided_by=by, reason=reason,
                decided_at=dt.datetime.now(dt.UTC))).rowcount
    if done != 1:
        raise Conflict(f"merchant {merchant_id} was decided by someone else meanwhile")


def approve(uow: UnitOfWork, merchant_id: int, by: str,
            hours: int = invitations.DEFAULT_HOURS) -> invitations.IssuedInvitation | None:
    """Approve a pending merchant: it trades from now on; returns its login's invitation."""
    conn = uow.conn
    row = _pending(conn, merchant_id)
    _decide(conn, merchant_id, "approved", by, None)
    uow.audit("approval.decided", f"party:{merchant_id}", {"decision": "approved"})
    conn.execute(update(t.merchants).where(t.merchants.c.party_id == merchant_id).values(active=True))
    registry.count_merchant(uow, row.channel, int(row.region_id), open_period(conn).seq)
    if invitations.has_login(conn, merchant_id):
        return None
    return invitations.invite(uow, merchant_id, by, hours)


def reject(uow: UnitOfWork, merchant_id: int, by: str, reason: str) -> None:
    """Reject a pending merchant with a reason the signer will read; it never trades."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("a rejection needs a reason of 1 to 500 characters")
    _pending(uow.conn, merchant_id)
    _decide(uow.conn, merchant_id, "rejected", by, reason)
    uow.audit("approval.decided", f"party:{merchant_id}", {"decision": "rejected",
                                                           "reason": reason})


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
