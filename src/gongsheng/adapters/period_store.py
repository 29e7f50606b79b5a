"""Where periods and their counters are kept (``tables.periods``, ``period_counters``).

Counters are striped rows (``tables.STRIPES``) added to by an upsert, so concurrent orders
rarely meet on a row; a period's counters are read summed over stripes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Mapping

from sqlalchemy import Connection, func, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import upsert_add
from gongsheng.domain.errors import NotFound
from gongsheng.domain.periods import OpenPeriod, PeriodClose, PeriodRecord

_stripe_rng = random.Random()
_p, _c = t.periods, t.period_counters


def open_period(conn: Connection) -> OpenPeriod:
    """The open period; :class:`NotFound` when the books have none."""
    row = conn.execute(
        select(_p.c.seq, _p.c.policy_version_id, _p.c.starts_on).where(_p.c.status == "open")
    ).first()
    if row is None:
        raise NotFound("the books have no open period (run a migration / open the books first)")
    return OpenPeriod(int(row[0]), int(row[1]), str(row[2]))


def add_counters(conn: Connection, period: int, values: Mapping[str, int]) -> None:
    """Add to named counters of a period (striped rows; O(1) per counter)."""
    stripe = _stripe_rng.randrange(t.STRIPES)
    rows = [(period, name, stripe, int(v)) for name, v in values.items() if v]
    upsert_add(conn, _c, ("period", "name", "stripe"), ("value",), rows)


def counters(conn: Connection, period: int, names: Collection[str] | None = None) -> dict[str, int]:
    """The counters of a period, summed over stripes: all of them, or only ``names`` (those
    with a row): a few named counters read that many keys, however many others there are."""
    query = select(_c.c.name, func.sum(_c.c.value)).where(_c.c.period == period)
    if names is not None:
        query = query.where(_c.c.name.in_(sorted(names)))
    rows = conn.execute(query.group_by(_c.c.name)).all()
    return {str(n): int(v) for n, v in rows}


def _opt(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


class SqlPeriodStore:
    """:class:`~gongsheng.services.ports.periods.PeriodStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def open_period(self) -> OpenPeriod:
        return open_period(self.conn)

    def period(self, seq: int) -> PeriodRecord | None:
        row = self.conn.execute(select(_p).where(_p.c.seq == seq)).first()
        if row is None:
            return None
        return PeriodRecord(int(row.seq), str(row.status), str(row.starts_on), str(row.ends_on),
                            int(row.policy_version_id), _opt(row.release_rate),
                            _opt(row.nominal_rate), _opt(row.released_fen),
                            _opt(row.unfunded_fen), row.figures)

    def counters(self, period: int) -> dict[str, int]:
        return counters(self.conn, period)

    def add_counters(self, period: int, values: Mapping[str, int]) -> None:
        add_counters(self.conn, period, values)

    def close(self, seq: int, close: PeriodClose, at: dt.datetime) -> None:
        self.conn.execute(update(_p).where(_p.c.seq == seq).values(
            status="closed", release_rate=close.release_rate, nominal_rate=close.nominal_rate,
            released_fen=close.released_fen, unfunded_fen=close.unfunded_fen,
            figures=close.figures, closed_at=at))

    def open_next(self, seq: int, starts_on: dt.date, ends_on: dt.date,
                  policy_version_id: int) -> None:
        self.conn.execute(insert(_p), {"seq": seq, "starts_on": starts_on.isoformat(),
                                       "ends_on": ends_on.isoformat(), "status": "open",
                                       "policy_version_id": policy_version_id})
