"""Kept rows compared with what the history implies, in the database (``verify``).

Balances, per-(party, period) totals and earnings are kept as orders post, summed over stripes;
``verify`` recomputes each from the history. Both sides are grouped and joined where they are
stored (one ``FULL JOIN``, PostgreSQL and SQLite alike), so only the keys that disagree come back:
none on sound books, however many parties there are.
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
    history_value = columns[-1]
    key_list = ", ".join(keys)
    on = " AND ".join(f"i.{k} = k.{k}" for k in keys)
    picked = ", ".join(f"coalesce(i.{k}, k.{k})" for k in keys)
    order = ", ".join(str(n) for n in range(1, len(keys) + 1))
    sql = f"""
        WITH h({", ".join(columns)}) AS ({history_sql}),
        i AS (SELECT {key_list}, sum({history_value}) AS v FROM h GROUP BY {key_list}),
        k AS (SELECT {key_list}, sum({value}) AS v FROM {table} GROUP BY {key_list})
        SELECT {picked}, coalesce(k.v, 0), coalesce(i.v, 0)
        FROM i FULL JOIN k ON {on}
        WHERE coalesce(k.v, 0) <> coalesce(i.v, 0)
        ORDER BY {order}"""
    return [tuple(row) for row in conn.execute(text(sql))]
