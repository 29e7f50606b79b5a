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
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import upsert_add
from gongsheng.adapters.ledger_store import post, system_balance
from gongsheng.domain.errors import NotFound
from gongsheng.domain.events import PeriodClosed, PolicyVersionActivated
from gongsheng.domain.figures import PeriodFigures
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, system_account
from gongsheng.domain.release import (
    SCALE,
    GroupState,
    advance,
    choose_rate,
    periods_to_complete,
    rate_as_decimal,
    release_at,
)
from gongsheng.services import risk
from gongsheng.services.books import counters, open_period, period_end, policy_version
from gongsheng.services.figures import period_figures
from gongsheng.services.forecast_store import stored_outlook
from gongsheng.services.idempotency import request_hash, same_request
from gongsheng.services.seals import seal_at_close
from gongsheng.services.unit_of_work import UnitOfWork


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
    gp, rg = t.group_points, t.release_groups
    totals = (select(gp.c.start_period, gp.c.multiple, func.sum(gp.c.points_cpts).label("pts"))
              .where(gp.c.start_period <= period)
              .group_by(gp.c.start_period, gp.c.multiple).subquery())
    rows = conn.execute(
        select(totals.c.start_period, totals.c.multiple, totals.c.pts,
               func.coalesce(rg.c.fraction, 0))
        .select_from(totals.outerjoin(rg, (rg.c.start_period == totals.c.start_period)
                                      & (rg.c.multiple == totals.c.multiple)))
    ).all()
    return [GroupState(int(s), Decimal(m), int(p), int(f)) for s, m, p, f in rows]


def _growth(conn: Connection, period: int) -> Decimal | None:
    now, before = counters(conn, period).get("gmv_fen", 0), counters(conn, period - 1).get("gmv_fen", 0)
    if period <= 1 or before <= 0:
        return None
    return Decimal(now - before) / Decimal(before)


def _previous_rate(conn: Connection, period: int) -> int | None:
    value = conn.execute(select(t.periods.c.release_rate).where(t.periods.c.seq == period - 1)).scalar()
    return None if value is None else int(value)


def close_period(uow: UnitOfWork, expected: int | None = None, *,
                 force_promise: bool = False, key: str | None = None) -> CloseSummary:
    """Close the open period (or return the summary of ``expected`` if it is closed already).

    With an idempotency ``key``, a repeat with the same request returns the summary of the
    period that key closed; the key with another request (another ``period``) is a conflict.
    """
    conn = uow.conn
    uow.lock_books(exclusive=True)
    body_hash = request_hash({"period": expected, "force_promise": force_promise})
    if key is not None:
        done_by_key = conn.execute(
            select(t.close_requests.c.period, t.close_requests.c.request_hash)
            .where(t.close_requests.c.idem_key == key)).first()
        if done_by_key is not None:
            closed, stored_hash = int(done_by_key.period), done_by_key.request_hash
            if stored_hash is None:  # stored before requests were hashed: compare the period
                stored_hash = body_hash if expected in (None, closed) else ""
            same_request(stored_hash, body_hash, key)
            expected = closed
    if expected is not None:
        done = conn.execute(select(t.periods).where(t.periods.c.seq == expected)).first()
        if done is None:
            raise NotFound(f"period {expected} does not exist")
        if done.status == "closed":
            return summary_of(done, already_closed=True)
    current = open_period(conn)
    policy = policy_version(conn, current.policy_version_id)
    seq = current.seq
    groups = groups_due(conn, seq)
    available = system_balance(conn, AccountKind.POOL_AVAILABLE)
    gmv = counters(conn, seq).get("gmv_fen", 0)
    rate, nominal = choose_rate(policy.release, groups, available, gmv, _growth(conn, seq),
                                _previous_rate(conn, seq), force=force_promise, period=seq,
                                outlook=stored_outlook(conn, seq, policy.release.controller))
    released = release_at(groups, rate)
    unfunded = max(0, released - max(available, 0))
    for g in groups:
        fraction = int(advance(g.fraction, rate)) if g.active else g.fraction
        after = GroupState(g.start_period, g.multiple, g.points_cpts, fraction)
        upsert_add(conn, t.release_groups, ("start_period", "multiple"), ("fraction", "issued_fen"),
                   [(g.start_period, str(g.multiple), fraction - g.fraction,
                     after.released() - _issued(conn, g))])
        conn.execute(update(t.release_groups).where(
            t.release_groups.c.start_period == g.start_period,
            t.release_groups.c.multiple == str(g.multiple)).values(points_cpts=g.points_cpts))
    entry = JournalEntry.build(EntryKind.RELEASE, [
        (system_account(AccountKind.VOUCHERS_ISSUED), Asset.VCH, -released),
        (system_account(AccountKind.VOUCHERS_UNSETTLED), Asset.VCH, released),
        (system_account(AccountKind.POOL_AVAILABLE), Asset.CNY, -released),
        (system_account(AccountKind.POOL_RESERVED), Asset.CNY, released),
    ], f"release of period {seq}")
    if entry is not None:
        post(conn, entry, seq)
    figures = period_figures(conn, seq, policy, rate, nominal, released, unfunded)
    risk.detect_at_close(uow, seq, policy.risk)
    conn.execute(update(t.periods).where(t.periods.c.seq == seq).values(
        status="closed", release_rate=rate, nominal_rate=nominal, released_fen=released,
        unfunded_fen=unfunded, figures=json.dumps(figures.to_json()), closed_at=dt.datetime.now(dt.UTC)))
    seal_at_close(conn, seq)  # the period's journal and release figures, chained to the last seal
    next_version = conn.execute(
        select(func.max(t.policy_versions.c.id)).where(
            t.policy_versions.c.active_from_period.is_not(None),
            t.policy_versions.c.active_from_period <= seq + 1)
    ).scalar() or current.policy_version_id
    starts = dt.date.fromisoformat(conn.execute(
        select(t.periods.c.ends_on).where(t.periods.c.seq == seq)).scalar_one())
    next_policy = policy_version(conn, int(next_version))
    conn.execute(insert(t.periods), {
        "seq": seq + 1, "starts_on": starts.isoformat(),
        "ends_on": period_end(starts, next_policy.release.period).isoformat(),
        "status": "open", "policy_version_id": int(next_version)})
    if key is not None:
        conn.execute(insert(t.close_requests), {"idem_key": key, "period": seq,
                                                "request_hash": body_hash})
    row = conn.execute(select(t.periods).where(t.periods.c.seq == seq)).one()
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
    if int(next_version) != current.policy_version_id:
        uow.record(PolicyVersionActivated(period=seq + 1, version_id=int(next_version),
                                          previous_version_id=current.policy_version_id))
        uow.audit("policy.activated", f"policy:{int(next_version)}", {
            "period": seq + 1, "previous_version_id": current.policy_version_id})
    return summary


def _issued(conn: Connection, g: GroupState) -> int:
    value = conn.execute(select(t.release_groups.c.issued_fen).where(
        t.release_groups.c.start_period == g.start_period,
        t.release_groups.c.multiple == str(g.multiple))).scalar()
    return int(value or 0)


def summary_of(row: Any, already_closed: bool) -> CloseSummary:
    """The summary of a closed period's row (its stored figures read back)."""
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


def last_rate(conn: Connection) -> int:
    """The release rate of the last closed period (0 before any close)."""
    value = conn.execute(select(t.periods.c.release_rate).where(t.periods.c.status == "closed")
                         .order_by(t.periods.c.seq.desc()).limit(1)).scalar()
    return int(value or 0)


__all__ = ["SCALE", "CloseSummary", "close_period", "groups_due", "last_rate"]
