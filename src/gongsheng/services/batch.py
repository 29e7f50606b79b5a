"""Placing many orders in one transaction (imports, bursts), each still all-or-nothing.

:func:`place_orders` gives every request exactly what :func:`ordering.place_order` would give it
had the requests been placed one after another: the same idempotency (a used key with the same
body returns the first result, with another body a conflict; a key repeated inside the batch is
a replay of its first use), the same waterfall, points, first-order referral and counters. It
reuses place_order's steps (its checks, ``compute_order``, ``write_orders``); only
the reads and writes are gathered: one query for the used keys, one for every order's context,
one statement for the first-order claims and one (PostgreSQL) to write all the orders and their
events.

All-or-nothing per order:

- an order that fails a check (bad input, unknown party, inactive merchant, key conflict) gets
  its error in the result list and writes nothing; the others go on;
- orders that spend vouchers (which must settle the consumer and check its balance) are placed
  one at a time by ``place_order`` inside a SAVEPOINT, in their place in the sequence; so are
  all orders while the policy sets a velocity cap (``[risk] max_orders_per_period`` or
  ``max_pair_orders_per_period``), so each is counted against the cap with the orders before
  it, as ``place_order`` counts it (the caps are off by default);
- the gathered write runs inside a SAVEPOINT (``UnitOfWork.savepoint``: a rolled-back one drops
  the events recorded in it too); if the database refuses it (a concurrent writer
  used one of the keys meanwhile), it is rolled back and the same orders are
  placed one at a time, each in its own SAVEPOINT, so one refusal never takes the others down.

The caller commits (``with UnitOfWork(engine) as uow: place_orders(uow, reqs); uow.commit()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gongsheng.adapters.storage_errors import refused_as_domain_error
from gongsheng.domain.errors import DuplicateRequest, GongshengError, RetryTransaction
from gongsheng.domain.orders import OrderContext
from gongsheng.domain.periods import OpenPeriod
from gongsheng.domain.policy import Policy
from gongsheng.services.idempotency import request_hash, same_request
from gongsheng.services.ordering import (
    OrderRequest,
    OrderResult,
    _replay,
    compute_order,
    place_order,
    write_orders,
)
from gongsheng.services.unit_of_work import UnitOfWork

Outcome = OrderResult | GongshengError
"""Per request: the placed (or replayed) order, or the error that refused it."""



@dataclass
class _Pending:
    index: int
    req: OrderRequest
    body_hash: str
    ctx: OrderContext


def place_orders(uow: UnitOfWork, requests: Sequence[OrderRequest]) -> list[Outcome]:
    """Place ``requests`` in the unit of work, in order; one outcome per request."""
    out: list[Outcome | None] = [None] * len(requests)
    hashes: dict[int, str] = {}
    for i, req in enumerate(requests):
        try:
            req.validate()
            hashes[i] = request_hash(req.body())
        except GongshengError as err:
            out[i] = err
    used = uow.orders.by_keys(sorted({requests[i].idempotency_key for i in hashes}))
    uow.lock_books()
    period = uow.periods.open_period()
    policy = uow.policies.version(period.policy_version_id)
    ctxs = uow.orders.contexts([(requests[i].consumer_id, requests[i].merchant_id) for i in hashes])
    capped = policy.risk.caps_velocity
    first_seen: dict[str, int] = {}   # key -> index of its first use in this batch
    repeats: list[tuple[int, int]] = []  # (index, index of the key's first use)
    claimed: set[int] = set()         # consumers whose first order this batch placed
    run: list[_Pending] = []
    for i in sorted(hashes):
        req, body_hash = requests[i], hashes[i]
        key = req.idempotency_key
        try:
            if key in used:
                out[i] = _replay(used[key], key, body_hash)
                continue
            if key in first_seen:
                same_request(hashes[first_seen[key]], body_hash, key)
                repeats.append((i, first_seen[key]))
                continue  # a replay of the first use, filled in once that one is written
            first_seen[key] = i
            ctx = ctxs[(req.consumer_id, req.merchant_id)]
            if isinstance(ctx, GongshengError):
                raise ctx
        except GongshengError as err:
            out[i] = err
            continue
        if req.voucher_fen or capped:
            _write_run(uow, run, period, policy, claimed, out)
            run = []
            out[i] = _one(uow, req)
            if isinstance(out[i], OrderResult):
                claimed.add(req.consumer_id)
            continue
        run.append(_Pending(i, req, body_hash, ctx))
    _write_run(uow, run, period, policy, claimed, out)
    for j, i in repeats:
        first = out[i]
        out[j] = replace(first, replayed=True) if isinstance(first, OrderResult) else first
    assert all(o is not None for o in out)
    return [o for o in out if o is not None]


def _one(uow: UnitOfWork, req: OrderRequest) -> Outcome:
    """``place_order`` in a SAVEPOINT: its error is returned and it leaves nothing behind."""
    try:
        with uow.savepoint():
            return place_order(uow, req)
    except (RetryTransaction, DuplicateRequest):
        raise  # the whole batch runs again (Platform.run), and replays what committed first
    except GongshengError as err:
        return err


def _claim_first_orders(uow: UnitOfWork, run: Sequence[_Pending], claimed: set[int]) -> set[int]:
    """Record each consumer's first order among ``run``; the indexes that are first orders.

    As in ``place_order``'s first step, a consumer whose first order a concurrent writer
    recorded meanwhile simply has no first order here.
    """
    candidates: dict[int, _Pending] = {}
    for p in run:
        if p.ctx.first_order_pending and p.req.consumer_id not in claimed:
            candidates.setdefault(p.req.consumer_id, p)
    if not candidates:
        return set()
    won = uow.orders.claim_first_orders(
        {cid: p.req.idempotency_key for cid, p in candidates.items()})
    claimed.update(won)
    return {candidates[cid].index for cid in won}


def _write_run(uow: UnitOfWork, run: list[_Pending], period: OpenPeriod, policy: Policy,
               claimed: set[int], out: list[Outcome | None]) -> None:
    """Write a run of orders at once; on a refusal, place them one by one instead."""
    if not run:
        return
    before = set(claimed)
    try:
        with refused_as_domain_error(), uow.savepoint():
            firsts = _claim_first_orders(uow, run, claimed)
            rows = [compute_order(p.req, p.body_hash, period, policy, p.ctx, p.index in firsts)
                    for p in run]
            results = write_orders(uow, rows)
    except GongshengError:
        claimed.clear()
        claimed.update(before)
        for p in run:
            out[p.index] = result = _one(uow, p.req)
            if isinstance(result, OrderResult):
                claimed.add(p.req.consumer_id)
        return
    for p, result in zip(run, results, strict=True):
        out[p.index] = result
