"""The SQL of ``gongsheng export``: each dataset a query read in chunks (``stream_results``).

The databases sort, so memory does not grow with the books. ``period`` restricts every dataset to
one period (the balances to that period's end). Balances at the end of a period are cumulative
sums of every leg of that period and before, one row per account and asset that had moved by
then (one window query, the same on SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, TextClause, text

CHUNK = 5_000


@dataclass(frozen=True)
class Dataset:
    """One exported table: its name, its columns (name, ``int`` or ``str``) and its query."""

    name: str
    columns: tuple[tuple[str, str], ...]
    sql: str

    def query(self, period: int | None) -> TextClause:
        where = "" if period is None else " WHERE x.period = :period"
        return text(f"SELECT * FROM ({self.sql}) AS x{where} ORDER BY {self.order}")

    @property
    def order(self) -> str:
        return ", ".join(c for c, _ in self.columns[:ORDER_KEYS.get(self.name, 1)])


ORDER_KEYS = {"postings": 2, "balances": 3}
_ENTRIES = "SELECT id, period, kind, ref_id, memo, created_at FROM journal_entries"
_POSTINGS = ("SELECT p.entry_id, p.leg, e.period, p.account_id, p.asset, p.amount "
             "FROM postings p JOIN journal_entries e ON e.id = p.entry_id")
_BALANCES = """
WITH moves AS (
  SELECT e.period, p.account_id, p.asset, SUM(p.amount) AS amount
  FROM postings p JOIN journal_entries e ON e.id = p.entry_id
  GROUP BY e.period, p.account_id, p.asset),
firsts AS (SELECT account_id, asset, MIN(period) AS first FROM moves GROUP BY account_id, asset),
grid AS (
  SELECT s.seq AS period, f.account_id, f.asset
  FROM periods s JOIN firsts f ON f.first <= s.seq)
SELECT g.period, g.account_id, g.asset, COALESCE(m.amount, 0) AS moved,
       SUM(COALESCE(m.amount, 0)) OVER (PARTITION BY g.account_id, g.asset ORDER BY g.period
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance
FROM grid g LEFT JOIN moves m
  ON m.period = g.period AND m.account_id = g.account_id AND m.asset = g.asset"""
_ORDERS = ("SELECT id, period, consumer_id, merchant_id, channel, amount_fen, voucher_fen, "
           "voucher_cost_fen, concession_rate, concession_fen, pool_fen, consumer_cpts, "
           "merchant_cpts, referrer_id, referrer_cpts, refunded_fen, created_at FROM orders")
_REFUNDS = ("SELECT id, period, order_id, amount_fen, clawback_fen, platform_cover_fen, created_at "
            "FROM refunds")


_JOURNAL = ("SELECT e.id, e.period, e.kind, e.ref_id, e.memo, e.created_at, p.account_id, "
            "p.asset, p.amount FROM journal_entries e JOIN postings p ON p.entry_id = e.id")
_ACCOUNTS = text("SELECT account_id, asset, SUM(amount) AS amount FROM balances "
                 "GROUP BY account_id, asset ORDER BY account_id, asset")


def _cols(spec: str) -> tuple[tuple[str, str], ...]:
    return tuple((c.split(":")[0], c.split(":")[1] if ":" in c else "int") for c in spec.split())


DATASETS = (
    Dataset("journal_entries", _cols("id period kind:str ref_id memo:str created_at:str"), _ENTRIES),
    Dataset("postings", _cols("entry_id leg period account_id account:str asset:str amount"),
            _POSTINGS),
    Dataset("balances", _cols("period account_id asset:str account:str moved balance"), _BALANCES),
    Dataset("orders", _cols("id period consumer_id merchant_id channel:str amount_fen voucher_fen "
                            "voucher_cost_fen concession_rate:str concession_fen pool_fen "
                            "consumer_cpts merchant_cpts referrer_id referrer_cpts refunded_fen "
                            "created_at:str"), _ORDERS),
    Dataset("refunds", _cols("id period order_id amount_fen clawback_fen platform_cover_fen "
                             "created_at:str"), _REFUNDS),
)
"""What ``gongsheng export`` writes, one file per dataset."""


def count_rows(conn: Connection, dataset: Dataset, period: int | None) -> int:
    """How many rows a dataset has (for the progress bar)."""
    where = "" if period is None else " WHERE x.period = :period"
    return int(conn.execute(text(f"SELECT COUNT(*) FROM ({dataset.sql}) AS x{where}"),
                            {"period": period}).scalar_one())


def dataset_chunks(conn: Connection, dataset: Dataset, period: int | None) -> Iterator[list[dict[str, Any]]]:
    """The dataset's rows as stored, in chunks of :data:`CHUNK`, in a stable order."""
    result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(
        dataset.query(period), {"period": period})
    for chunk in result.partitions(CHUNK):
        yield [dict(r._mapping) for r in chunk]


def journal_legs(conn: Connection, period: int | None) -> Iterator[Row[Any]]:
    """Every leg with its entry (``id, period, kind, ref_id, memo, created_at, account_id, asset,
    amount``), by entry id and leg, streamed."""
    where = "" if period is None else " WHERE e.period = :period"
    yield from conn.execution_options(stream_results=True, yield_per=CHUNK).execute(
        text(f"{_JOURNAL}{where} ORDER BY e.id, p.leg"), {"period": period})


def account_totals(conn: Connection) -> list[tuple[int, str, int]]:
    """``(account_id, asset, balance)`` of every account that has a balance row (O(accounts))."""
    return [(int(a), str(s), int(v)) for a, s, v in conn.execute(_ACCOUNTS)]


__all__ = ["CHUNK", "DATASETS", "Dataset", "account_totals", "count_rows", "dataset_chunks",
           "journal_legs"]
