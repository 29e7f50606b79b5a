"""Where forecasts are kept: one row per forecast, only inserted, three JSON documents each."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from gongsheng.adapters import tables as t

_f = t.forecasts


class SqlForecastStore:
    """:class:`~gongsheng.services.ports.forecasts.ForecastStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, *, period: int, policy_digest: str, runs: int, horizon: int, seed: int,
            summary: Mapping[str, Any], holdings: Mapping[str, Any],
            outlook: Mapping[str, Any]) -> int:
        result = self.conn.execute(insert(_f).values(
            period=period, policy_digest=policy_digest, runs=runs, horizon=horizon, seed=seed,
            summary=json.dumps(summary), holdings=json.dumps(holdings), outlook=json.dumps(outlook)))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def latest(self) -> dict[str, Any] | None:
        row = self.conn.execute(select(_f.c.id, _f.c.period, _f.c.runs, _f.c.horizon, _f.c.seed,
                                       _f.c.policy_digest, _f.c.created_at, _f.c.summary)
                                .order_by(_f.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return {"forecast_id": int(row.id), "starts_at_period": int(row.period),
                "runs": int(row.runs), "horizon": int(row.horizon), "seed": int(row.seed),
                "policy_digest": row.policy_digest, "created_at": str(row.created_at),
                **json.loads(row.summary)}

    def holdings(self) -> dict[str, Any] | None:
        raw = self.conn.execute(select(_f.c.holdings).order_by(_f.c.id.desc()).limit(1)).scalar()
        return None if raw is None else dict(json.loads(raw))

    def newest_period(self) -> int | None:
        newest = self.conn.execute(select(_f.c.period).order_by(_f.c.id.desc()).limit(1)).scalar()
        return None if newest is None else int(newest)

    def outlook(self) -> tuple[int, dict[str, Any]] | None:
        row = self.conn.execute(select(_f.c.period, _f.c.outlook)
                                .order_by(_f.c.id.desc()).limit(1)).first()
        return None if row is None else (int(row.period), dict(json.loads(row.outlook)))

    def points_starting(self, start_period: int) -> list[tuple[str, int]]:
        gp = t.group_points
        rows = self.conn.execute(select(gp.c.multiple, gp.c.points_cpts)
                                 .where(gp.c.start_period == start_period)).all()
        return [(str(m), int(p)) for m, p in rows]


__all__ = ["SqlForecastStore"]
