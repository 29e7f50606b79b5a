"""Closing a period (期): one release rate for every active group, figures stored, next period open.

The close costs O(release groups x stripes), never O(holders): it advances each group's
cumulative fraction and posts one aggregate release entry (vouchers issued into the
released-unsettled clearing account; pool available moved to the reserve). Holders are settled
lazily (``holdings.settle``). Closing is idempotent: asking to close a period that is
already closed returns its stored summary and changes nothing; a closed period takes no entries.
A close asked with an idempotency key records the key with its request's hash: the same key and
request return that summary again, the key with another request is a conflict (409).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

from gongsheng.domain.errors import NotFound
from gongsheng.domain.events import PeriodClosed, PolicyVersionActivated
from gongsheng.domain.figures import CloseInputs, PeriodFigures, close_figures, region_coverage
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, system_account
from gongsheng.domain.periods import LIFETIME, PeriodClose, PeriodRecord, period_end
from gongsheng.domain.policy import Policy
from gongsheng.domain.release import (
    SCALE,
    GroupState,
    advance,
    choose_rate,
    periods_to_complete,
    rate_as_decimal,
    release_at,
)
from gongsheng.services.idempotency import request_hash, same_request
from gongsheng.services.ports.work import Stores, Work
from gongsheng.services.unit_of_work import Connection, stores_on


@dataclass(frozen=True)
class CloseSummary:
    """What a close did: the rate, the release, the pool after it."""

    period: int
    controller: str
    nominal_periods: int
    release_rate: str      # fraction of cap, exact decimal
    nominal_rate: str
    released_fen: int
    unfunded_fen: int
    pool_available_fen: int
    pool_reserved_fen: int
    periods_to_complete: int | None
    figures: PeriodFigures
    already_closed: bool = False


def groups_due(conn: Connection, period: int) -> list[GroupState]:
    """Release groups that start on or before ``period``, with their current points (summed stripes)."""
    return stores_on(conn).holdings.groups_due(period)


def _growth(stores: Stores, period: int, gmv: int) -> Decimal | None:
    """The GMV's growth from the period before to ``period`` (whose GMV is ``gmv``)."""
    if period <= 1:
        return None
    before = stores.periods.counters(period - 1).get("gmv_fen", 0)
    if before <= 0:
        return None
    return Decimal(gmv - before) / Decimal(before)


def _previous_rate(stores: Stores, period: int) -> int | None:
    found = stores.periods.period(period - 1)
    return None if found is None else found.release_rate


def _figures(stores: Stores, seq: int, policy: Policy, rate: int, nominal: int, released: int,
             unfunded: int) -> PeriodFigures:
    """The figures of period ``seq`` as of its close, read from the stores after the release."""
    life = stores.periods.counters(LIFETIME)
    return close_figures(seq, policy, rate, nominal, released, unfunded, CloseInputs(
        counters=stores.periods.counters(seq), lifetime=life,
        pool_available_fen=stores.ledger.system_balance(AccountKind.POOL_AVAILABLE),
        pool_reserved_fen=stores.ledger.system_balance(AccountKind.POOL_RESERVED),
        regions=region_coverage(stores.parties.region_universes(), life),
        unreleased_entitlement_fen=stores.holdings.unreleased_entitlement()))


def close_period(uow: Work, expected: int | None = None, *,
                 force_promise: bool = False, key: str | None = None) -> CloseSummary:
    """Close the open period (or return the summary of ``expected`` if it is closed already).

    With an idempotency ``key``, a repeat with the same request returns the summary of the
    period that key closed; the key with another request (another ``period``) is a conflict.
    """
    uow.lock_books(exclusive=True)
    body_hash = request_hash({"period": expected, "force_promise": force_promise})
    if key is not None:
        done_by_key = uow.requests.close_request(key)
        if done_by_key is not None:
            closed, stored_hash = done_by_key
            if stored_hash is None:  # stored before requests were hashed: compare the period
                stored_hash = body_hash if expected in (None, closed) else ""
            same_request(stored_hash, body_hash, key)
            expected = closed
    if expected is not None:
        done = uow.periods.period(expected)
        if done is None:
            raise NotFound(f"period {expected} does not exist")
        if done.status == "closed":
            return summary_of(done, already_closed=True)
    current = uow.periods.open_period()
    policy = uow.policies.version(current.policy_version_id)
    seq = current.seq
    groups = uow.holdings.groups_due(seq)
    available = uow.ledger.system_balance(AccountKind.POOL_AVAILABLE)
    gmv = uow.periods.counters(seq).get("gmv_fen", 0)
    rate, nominal = choose_rate(policy.release, groups, available, gmv, _growth(uow, seq, gmv),
                                _previous_rate(uow, seq), force=force_promise, period=seq,
                                outlook=uow.closing.outlook(seq, policy.release.controller))
    released = release_at(groups, rate)
    unfunded = max(0, released - max(available, 0))
    for g in groups:
        uow.holdings.advance(g, int(advance(g.fraction, rate)) if g.active else g.fraction)
    entry = JournalEntry.build(EntryKind.RELEASE, [
        (system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH, -released),
        (system_account(AccountKind.VOUCHERS_UNSETTLED), Asset.VCH, released),
        (system_account(AccountKind.POOL_AVAILABLE), Asset.CNY, -released),
        (system_account(AccountKind.POOL_RESERVED), Asset.CNY, released),
    ], f"release of period {seq}")
    if entry is not None:
        uow.ledger.post(entry, seq)
    figures = _figures(uow, seq, policy, rate, nominal, released, unfunded)
    uow.closing.detect_risk(seq, policy.risk)
    uow.periods.close(seq, PeriodClose(rate, nominal, released, unfunded,
                                       json.dumps(figures.to_json())), dt.datetime.now(dt.UTC))
    uow.closing.seal(seq)  # the period's journal and release figures, chained to the last seal
    next_version = uow.policies.latest_active_by(seq + 1) or current.policy_version_id
    row = uow.periods.period(seq)
    assert row is not None
    next_policy = uow.policies.version(next_version)
    starts = dt.date.fromisoformat(row.ends_on)
    uow.periods.open_next(seq + 1, starts, period_end(starts, next_policy.release.period),
                          next_version)
    if key is not None:
        uow.requests.add_close_request(key, seq, body_hash)
    summary = summary_of(row, already_closed=False)
    uow.record(PeriodClosed(
        period=seq, controller=summary.controller, release_rate=summary.release_rate,
        nominal_rate=summary.nominal_rate, released_fen=released, unfunded_fen=unfunded,
        pool_available_fen=summary.pool_available_fen,
        pool_reserved_fen=summary.pool_reserved_fen, forced_promise=force_promise))
    uow.audit("period.closed", f"period:{seq}", {
        "force_promise": force_promise, "release_rate": summary.release_rate,
        "nominal_rate": summary.nominal_rate, "released_fen": released,
        "unfunded_fen": unfunded})
    if next_version != current.policy_version_id:
        uow.record(PolicyVersionActivated(period=seq + 1, version_id=next_version,
                                          previous_version_id=current.policy_version_id))
        uow.audit("policy.activated", f"policy:{next_version}", {
            "period": seq + 1, "previous_version_id": current.policy_version_id})
    return summary


def summary_of(row: PeriodRecord, already_closed: bool) -> CloseSummary:
    """The summary of a closed period's row (its stored figures read back)."""
    assert row.figures is not None
    figures = PeriodFigures.from_json(json.loads(row.figures))
    rate = int(row.release_rate or 0)
    return CloseSummary(
        period=int(row.seq), controller=figures.controller,
        nominal_periods=figures.nominal_periods,
        release_rate=str(rate_as_decimal(rate)),
        nominal_rate=str(rate_as_decimal(int(row.nominal_rate or 0))),
        released_fen=int(row.released_fen or 0), unfunded_fen=int(row.unfunded_fen or 0),
        pool_available_fen=figures.pool_available_fen,
        pool_reserved_fen=figures.pool_reserved_fen,
        periods_to_complete=periods_to_complete(0, rate), figures=figures,
        already_closed=already_closed)


__all__ = ["SCALE", "CloseSummary", "close_period", "groups_due", "summary_of"]
