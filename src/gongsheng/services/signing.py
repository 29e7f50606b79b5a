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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gongsheng.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongsheng.domain.ledger import PLATFORM_PARTY_ID
from gongsheng.domain.money import apply_rate
from gongsheng.domain.signings import Signing
from gongsheng.domain.waterfall import Beneficiaries, split_order
from gongsheng.services import invitations, registry
from gongsheng.services.books import policy_in_force
from gongsheng.services.ports.signing import SigningStore
from gongsheng.services.ports.work import Stores, Work

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


def _region_of_promoter(signings: SigningStore, promoter_id: int) -> int:
    found = signings.promoter_region(promoter_id)
    if found is None:
        raise NotFound(f"promoter {promoter_id} does not exist")
    region_id, active = found
    if not active:
        raise Forbidden("your partner's term has ended: its region takes no new signings from its team")
    return region_id


def _in_region(signings: SigningStore, region_id: int, root: int) -> bool:
    """Whether ``region_id`` is ``root`` or lies under it (the tree is at most three deep)."""
    current: int | None = region_id
    for _ in range(8):
        if current is None:
            return False
        if current == root:
            return True
        current = signings.parent_region(current)
    return False


def signer_terms(stores: Stores, signer: Signer, terms: registry.MerchantTerms) -> registry.MerchantTerms:
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
        if not _in_region(stores.signings, terms.region_id,
                          _region_of_promoter(stores.signings, signer.party_id)):
            raise Forbidden("a promoter signs merchants in its partner's region only")
        return dataclasses.replace(terms, promoter_id=signer.party_id)
    raise Forbidden(f"a {signer.role} does not sign merchants")


def sign(uow: Work, signer: Signer, terms: registry.MerchantTerms) -> int:
    """Sign a merchant on ``terms``; it waits, inactive, for the operator's approval."""
    terms = signer_terms(uow, signer, terms)
    merchant = registry.create_merchant(uow, terms, pending=True)
    uow.signings.add(merchant, signer.role, signer.party_id)
    return merchant


def preview(stores: Stores, signer: Signer, terms: registry.MerchantTerms,
            amount_fen: int = PREVIEW_FEN) -> dict[str, Any]:
    """The waterfall of an order of ``amount_fen`` under these terms: the region's partner and a
    home merchant assumed present, the BM and the promoter present as the terms bind them (a
    vacant part shows as going to the pool).

    Writes nothing; raises what signing would raise (the infeasible contract with its reason).
    """
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 0 < amount_fen <= 10**12:
        raise InvalidInput("amount_fen must be a positive integer")
    terms = signer_terms(stores, signer, terms)
    _, policy = policy_in_force(stores)
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


def _pending(signings: SigningStore, merchant_id: int) -> Signing:
    row = signings.signing(merchant_id)
    if row is None:
        raise NotFound(f"merchant {merchant_id} has no signing to decide")
    if row.status != "pending":
        raise Conflict(f"merchant {merchant_id} was already {row.status}")
    return row


def _decide(signings: SigningStore, merchant_id: int, status: str, by: str,
            reason: str | None) -> None:
    if not signings.decide(merchant_id, status, by, reason):
        raise Conflict(f"merchant {merchant_id} was decided by someone else meanwhile")


def approve(uow: Work, merchant_id: int, by: str,
            hours: int = invitations.DEFAULT_HOURS) -> invitations.IssuedInvitation | None:
    """Approve a pending merchant: it trades from now on; returns its login's invitation."""
    row = _pending(uow.signings, merchant_id)
    _decide(uow.signings, merchant_id, "approved", by, None)
    uow.audit("approval.decided", f"party:{merchant_id}", {"decision": "approved"})
    uow.signings.activate(merchant_id)
    registry.count_merchant(uow, row.channel, row.region_id, uow.periods.open_period().seq)
    if uow.invitations.has_login(merchant_id):
        return None
    return invitations.invite(uow, merchant_id, by, hours)


def reject(uow: Work, merchant_id: int, by: str, reason: str) -> None:
    """Reject a pending merchant with a reason the signer will read; it never trades."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("a rejection needs a reason of 1 to 500 characters")
    _pending(uow.signings, merchant_id)
    _decide(uow.signings, merchant_id, "rejected", by, reason)
    uow.audit("approval.decided", f"party:{merchant_id}", {"decision": "rejected",
                                                           "reason": reason})
