"""The compliance attestation of a closed period: statements with evidence, then signed.

Each statement names its rule in MODEL.md and holds only if its evidence shows no violation;
the document holds only if every statement does. The attestation reads one period (its orders
and its sealed range of entries), never the whole history.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection

from gongsheng.adapters import attestation_queries as q
from gongsheng.adapters import seal_store
from gongsheng.domain.attestation import FORMAT, Statement, sign
from gongsheng.domain.errors import NotFound
from gongsheng.domain.figures import PeriodFigures
from gongsheng.domain.policy import Recipient
from gongsheng.domain.seals import StoredSeal, period_digest
from gongsheng.services.seals import compute_chunks
from gongsheng.services.unit_of_work import stores_on


def _closed(conn: Connection, period: int | None) -> int:
    closed = seal_store.closed_periods(conn)
    if period is None:
        if not closed:
            raise NotFound("no period is closed yet: an attestation covers a closed period")
        return closed[-1]
    if period not in closed:
        raise NotFound(f"period {period} is not a closed period")
    return period


def _one_level(conn: Connection, period: int) -> Statement:
    ev = q.referral_rewards(conn, period)
    return Statement("rewards_one_direct_relationship", "MODEL.md 3 (referral), 10",
                     ev["not_direct"] == 0, ev)


def _roles(conn: Connection, period: int) -> tuple[Statement, dict[str, int]]:
    """Every waterfall part went to the party directly related to the order (partner of the
    order's region, the merchant's promoter and BM, the buyer's home merchant)."""
    regions = q.partner_regions(conn)
    paid: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    wrong: dict[str, int] = defaultdict(int)
    partner_fen = partner_wrong_fen = 0
    for _, region, merchant, bm, promoter, home, allocations in q.order_allocations(conn, period):
        expected = {Recipient.REGION_PARTNER.value: None, Recipient.SIGNING_PROMOTER.value: promoter,
                    Recipient.BOUND_BM.value: bm, Recipient.HOME_MERCHANT.value: home}
        for _, recipient, party, fen in allocations:
            if party is None or recipient == Recipient.PLATFORM.value:
                continue
            counts[recipient] += 1
            paid[recipient] += int(fen)
            if recipient == Recipient.REGION_PARTNER.value:
                ok = regions.get(int(party)) == region
                partner_fen += int(fen)
                partner_wrong_fen += 0 if ok else int(fen)
            else:
                ok = expected.get(recipient) == party and not (
                    recipient == Recipient.HOME_MERCHANT.value and party == merchant)
            wrong[recipient] += 0 if ok else 1
    evidence = {"parts_paid": dict(counts), "paid_fen": dict(paid),
                "not_to_the_direct_relation": dict(wrong)}
    statement = Statement("parts_paid_to_direct_relations", "MODEL.md 3 (waterfall), 10",
                          not any(wrong.values()), evidence)
    return statement, {"partner_dividend_fen": partner_fen,
                       "partner_dividend_other_region_fen": partner_wrong_fen,
                       "partner_orders_other_region": wrong[Recipient.REGION_PARTNER.value]}


def _no_fees(conn: Connection, seal: StoredSeal) -> Statement:
    kinds = q.entry_kinds(conn, seal.first_id, seal.last_id)
    n, net = q.consumer_cash_postings(conn, seal.first_id, seal.last_id)
    revenue = q.revenue_outside_orders(conn, seal.first_id, seal.last_id)
    return Statement("no_consumer_join_or_upgrade_fee", "MODEL.md 10", n == 0 and revenue == 0, {
        "entries_by_kind": kinds, "consumer_money_postings": n, "consumer_money_net_fen": net,
        "platform_revenue_outside_orders": revenue})


def _not_cashed(conn: Connection, seal: StoredSeal, period: int) -> Statement:
    ev: dict[str, Any] = dict(q.points_to_cash_or_transfer(conn, seal.first_id, seal.last_id))
    ev["payouts"], ev["payouts_to_consumers"] = q.consumer_payouts(conn, period)
    ok = ev["entries_cashing_out"] == 0 and ev["entries_transferring"] == 0 \
        and ev["payouts_to_consumers"] == 0
    return Statement("points_and_vouchers_never_cashed_or_transferred", "MODEL.md 2, 10", ok, ev)


def _partner_dividends(conn: Connection, seal: StoredSeal,
                       partner: dict[str, int]) -> Statement:
    n, fen = q.partner_credits_outside_orders(conn, seal.first_id, seal.last_id)
    ev = {**partner, "partner_credits_outside_orders": n, "partner_credits_outside_orders_fen": fen}
    ok = partner["partner_orders_other_region"] == 0 and n == 0
    return Statement("partner_dividends_from_own_region_only", "MODEL.md 3, 6, 10", ok, ev)


def _pool(figures: PeriodFigures, row: Any) -> tuple[Statement, Statement]:
    controller = figures.controller
    released, unfunded = int(row.released_fen or 0), int(row.unfunded_fen or 0)
    available = figures.pool_available_fen
    reserved = figures.pool_reserved_fen
    outstanding = figures.vouchers_outstanding_fen
    budget = Statement("budget_release_within_pool", "MODEL.md 4",
                       controller != "budget" or (unfunded == 0 and available >= 0), {
                           "controller": controller, "released_fen": released,
                           "unfunded_fen": unfunded, "pool_available_after_fen": available})
    nominal, rate = int(row.nominal_rate or 0), int(row.release_rate or 0)
    covered = available + reserved
    gap = Statement("promise_gap_and_pool_coverage", "MODEL.md 4, 8", covered >= outstanding, {
        "release_rate": figures.release_rate, "nominal_rate": figures.nominal_rate,
        "gap_to_nominal_scaled": nominal - rate, "pool_fen": covered,
        "vouchers_outstanding_fen": outstanding,
        "pool_covers_outstanding": covered >= outstanding})
    return budget, gap


def _seal(conn: Connection, period: int) -> Statement:
    seal = seal_store.seal_of(conn, period)
    if seal is None:
        return Statement("period_sealed", "docs/integrity.md", False, {"sealed": False})
    chunks = compute_chunks(stores_on(conn), seal.first_id, seal.last_id)
    facts = seal_store.period_facts(conn, period)
    digest = None if facts is None else period_digest(
        facts, None if seal.previous is None else bytes.fromhex(seal.previous),
        seal.first_id, seal.last_id, chunks)
    ok = digest is not None and digest.hex() == seal.digest
    return Statement("period_sealed", "docs/integrity.md", ok, {
        "sealed": True, "seal": seal.digest, "previous_seal": seal.previous,
        "first_entry_id": seal.first_id, "last_entry_id": seal.last_id, "entries": seal.entries,
        "postings": seal.postings, "recomputed": None if digest is None else digest.hex()})


def attestation(conn: Connection, period: int | None = None) -> dict[str, Any]:
    """The unsigned attestation of closed ``period`` (the last closed one by default)."""
    seq = _closed(conn, period)
    seal = seal_store.seal_of(conn, seq)
    row = q.period_row(conn, seq)
    figures = PeriodFigures.from_json(json.loads(row.figures))  # a closed period has its figures
    statements: list[Statement] = [_one_level(conn, seq)]
    roles, partner = _roles(conn, seq)
    statements.append(roles)
    if seal is not None:
        statements += [_no_fees(conn, seal), _not_cashed(conn, seal, seq),
                       _partner_dividends(conn, seal, partner)]
    statements += [*_pool(figures, row), _seal(conn, seq)]
    return {"format": FORMAT, "period": seq, "starts_on": row.starts_on, "ends_on": row.ends_on,
            "holds": all(s.holds for s in statements),
            "statements": [s.as_dict() for s in statements]}



def signed_attestation(conn: Connection, key: Ed25519PrivateKey, period: int | None = None) -> bytes:
    """The attestation of ``period``, signed: canonical JSON bytes (``domain/attestation.py``)."""
    return sign(attestation(conn, period), key)
