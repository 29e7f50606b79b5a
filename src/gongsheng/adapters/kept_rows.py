"""Kept rows compared with what the history implies, in the database (``verify``).

Balances, per-(party, period) totals and earnings are kept as orders post, summed over stripes;
``verify`` recomputes each from the history. Both sides are summed per key together, where they
are stored (one ``UNION ALL`` grouped once: portable to any SQLite, unlike ``FULL JOIN``), so
only the keys that disagree come back: none on sound books, however many parties there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text


def disagreeing(conn: Connection, history_sql: str, columns: Sequence[str], table: str,
                keys: Sequence[str], value: str) -> list[tuple[Any, ...]]:
    """``(*keys, kept, implied)`` in key order, for every key whose sum over ``table``'s rows
    (column ``value``) differs from the sum over ``history_sql``'s rows (its columns named
    ``columns``, the last the value); a key missing on one side counts as zero there."""
    key_list = ", ".join(keys)
    order = ", ".join(str(n) for n in range(1, len(keys) + 1))
    sql = f"""
        WITH h({", ".join(columns)}) AS ({history_sql})
        SELECT {key_list}, sum(kept), sum(implied) FROM (
            SELECT {key_list}, {value} AS kept, 0 AS implied FROM {table}
            UNION ALL
            SELECT {key_list}, 0, {columns[-1]} FROM h
        ) AS both_sides
        GROUP BY {key_list}
        HAVING sum(kept) <> sum(implied)
        ORDER BY {order}"""
    return [tuple(row) for row in conn.execute(text(sql))]
