"""What ``verify`` reads of the release index: per group, its holders' points and what they are
owed, computed where the holdings are stored.

A holding of group ``g`` has been released ``floor(points x multiple x F_g / SCALE)`` fen
(:func:`~gongsheng.domain.release.released_to_date`). On PostgreSQL the sums over every holding
are taken in one statement with exact ``numeric`` arithmetic (``div`` is integer division, the
floor for these non-negative values), so only one row per group comes back however many
holders there are; SQLite, embedded and small, streams the holdings through the domain's
function. Both give the same figures (``tests/integration/test_release_audit.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, select

from gongsheng.adapters import tables as t
from gongsheng.domain.release import SCALE, released_to_date

GroupKey = tuple[int, str]
"""``(start_period, multiple)`` as stored."""


@dataclass(frozen=True)
class GroupHolders:
    """A group's holdings summed: how many, their points, what they were released (owed) and
    settled, and how many settled more than they were released (none on sound books)."""

    holders: int
    points_cpts: int
    owed_fen: int
    settled_fen: int
    over_settled: int


_PG = f"""
SELECT start_period, multiple, count(*), sum(points_cpts), sum(due), sum(settled_fen),
       count(*) FILTER (WHERE settled_fen > due)
FROM (
    SELECT h.start_period, h.multiple, h.points_cpts, h.settled_fen,
           coalesce(div(h.points_cpts * g.num * g.fraction, g.den * {SCALE}::numeric), 0) AS due
    FROM holdings h
    LEFT JOIN unnest(%(s)s::int[], %(m)s::text[], %(n)s::numeric[], %(d)s::numeric[],
                     %(f)s::numeric[]) AS g(start_period, multiple, num, den, fraction)
      ON g.start_period = h.start_period AND g.multiple = h.multiple
) AS owed
GROUP BY start_period, multiple
"""


def group_holders(conn: Connection, rates: Mapping[GroupKey, tuple[int, int, int]]
                  ) -> dict[GroupKey, GroupHolders]:
    """Every group that has holdings, summed; ``rates`` maps a group to its multiple's exact
    ratio and its fraction ``(num, den, fraction)``; a group not in it has released nothing."""
    if conn.dialect.name == "postgresql":
        keys = sorted(rates)
        rows = conn.exec_driver_sql(_PG, {
            "s": [k[0] for k in keys], "m": [k[1] for k in keys],
            "n": [rates[k][0] for k in keys], "d": [rates[k][1] for k in keys],
            "f": [rates[k][2] for k in keys]}).all()
        return {(int(s), str(m)): GroupHolders(int(n), int(p), int(o), int(d), int(x))
                for s, m, n, p, o, d, x in rows}
    h = t.holdings
    sums: dict[GroupKey, list[int]] = {}
    for s, m, points, settled in conn.execute(
            select(h.c.start_period, h.c.multiple, h.c.points_cpts, h.c.settled_fen)):
        key = (int(s), str(m))
        num, den, fraction = rates.get(key, (0, 1, 0))
        due = int(released_to_date(int(points), num, den, fraction))
        acc = sums.setdefault(key, [0, 0, 0, 0, 0])
        acc[0] += 1
        acc[1] += int(points)
        acc[2] += due
        acc[3] += int(settled)
        acc[4] += int(settled) > due
    return {k: GroupHolders(*v) for k, v in sums.items()}
