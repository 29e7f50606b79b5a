"""The stored forecast (预测): written after a close, read by the dashboard, the wallet and the close.

Why stored, not computed per request: a forecast is a few hundred Monte Carlo runs (seconds),
a close must stay O(groups) and a wallet read a few milliseconds. So a close records nothing
extra: a refresh is **due** whenever the newest stored forecast starts before the open period
(:func:`due`), and the process that closed (the ``period close`` command after its commit, the
API's close route after its response, ``demo`` after its last close) computes one and stores it
here (:func:`store`). Readers take the newest row.

A row holds three JSON documents: ``summary`` (bands of the operator's figures), ``holdings``
(per release group start period, the p10/p50/p90 period in which it completes) and ``outlook``
(the low band of the pool's net inflow the ``forecast`` controller reads at the next close).
Invariant: rows are only inserted; the newest row (highest id) is the forecast.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select

from gongsheng.adapters import tables as t
from gongsheng.domain.policy import Controller
from gongsheng.domain.release import GroupState, Outlook, projected_outlook
from gongsheng.services.books import open_period

_f = t.forecasts


def store(conn: Connection, *, period: int, policy_digest: str, runs: int, horizon: int, seed: int,
          summary: Mapping[str, Any], holdings: Mapping[str, Any], outlook: Mapping[str, Any]) -> int:
    """Insert a forecast that starts at ``period`` (the open period); return its id."""
    result = conn.execute(insert(_f).values(
        period=period, policy_digest=policy_digest, runs=runs, horizon=horizon, seed=seed,
        summary=json.dumps(summary), holdings=json.dumps(holdings), outlook=json.dumps(outlook)))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def latest(conn: Connection) -> dict[str, Any] | None:
    """The newest stored forecast's summary (with its row's facts), or None."""
    row = conn.execute(select(_f.c.id, _f.c.period, _f.c.runs, _f.c.horizon, _f.c.seed,
                              _f.c.policy_digest, _f.c.created_at, _f.c.summary)
                       .order_by(_f.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return {"forecast_id": int(row.id), "starts_at_period": int(row.period), "runs": int(row.runs),
            "horizon": int(row.horizon), "seed": int(row.seed), "policy_digest": row.policy_digest,
            "created_at": str(row.created_at), **json.loads(row.summary)}


def holding_bands(conn: Connection) -> dict[int, list[int | None]]:
    """Per start period, the p10/p50/p90 period in which a holding of that group completes."""
    raw = conn.execute(select(_f.c.holdings).order_by(_f.c.id.desc()).limit(1)).scalar()
    if raw is None:
        return {}
    return {int(k): v for k, v in json.loads(raw).items()}


def due(conn: Connection) -> bool:
    """Whether a refresh is due: no stored forecast starts at the open period."""
    newest = conn.execute(select(_f.c.period).order_by(_f.c.id.desc()).limit(1)).scalar()
    return newest is None or int(newest) < open_period(conn).seq


def stored_outlook(conn: Connection, period: int, controller: Controller | None = None) -> Outlook | None:
    """The ``forecast`` controller's outlook when closing ``period``, from the newest forecast.

    The stored band begins at the period the forecast started at; a forecast older than the
    closing period is used from that period on. None without a stored forecast (the controller
    then acts as ``budget``), or when ``controller`` is given and is not ``forecast``.
    """
    if controller is not None and controller is not Controller.FORECAST:
        return None
    row = conn.execute(select(_f.c.period, _f.c.outlook).order_by(_f.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    body = json.loads(row.outlook)
    band = [int(v) for v in body.get("inflow_low_fen", [])][max(period - int(row.period), 0):]
    if period < int(row.period):
        return None
    gp = t.group_points
    pending = conn.execute(select(gp.c.multiple, gp.c.points_cpts)
                           .where(gp.c.start_period == period + 1)).all()
    totals: dict[str, int] = {}
    for multiple, pts in pending:
        totals[str(multiple)] = totals.get(str(multiple), 0) + int(pts)
    groups = [GroupState(period + 1, Decimal(m), p, 0) for m, p in sorted(totals.items())]
    return projected_outlook(band, period, groups)


__all__ = ["due", "holding_bands", "latest", "store", "stored_outlook"]
