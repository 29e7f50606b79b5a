"""The books exported (导出): journal entries and their legs, balances at the end of each
period, orders and refunds, as streamed rows.

Each dataset is a query read in chunks (``stream_results``) and written as it is read, so memory
does not grow with the books; the databases sort. ``period`` restricts every dataset to one
period (the balances to that period's end). Balances at the end of a period are cumulative sums
of every leg of that period and before, one row per account and asset that had moved by then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, TextClause, text

from gongsheng.adapters.export_files import CsvSink, ParquetSink
from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.ledger import account_name
from gongsheng.services import beancount_export as beancount

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


def stream_rows(conn: Connection, dataset: Dataset, period: int | None) -> Iterator[list[dict[str, Any]]]:
    """The dataset's rows in chunks of :data:`CHUNK`, in a stable order."""
    result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(
        dataset.query(period), {"period": period})
    names = [c for c, _ in dataset.columns]
    for chunk in result.partitions(CHUNK):
        rows = []
        for r in chunk:
            row = dict(r._mapping)
            if "account_id" in row:
                row["account"] = account_name(int(row["account_id"]))
            if "created_at" in row and row["created_at"] is not None:
                row["created_at"] = str(row["created_at"])
            rows.append({n: row.get(n) for n in names})
        yield rows


Progress = Callable[[str, int, int], None]
"""``progress(dataset name, rows written, rows in all)``."""


_JOURNAL = ("SELECT e.id, e.period, e.kind, e.ref_id, e.memo, e.created_at, p.account_id, "
            "p.asset, p.amount FROM journal_entries e JOIN postings p ON p.entry_id = e.id")
_ACCOUNTS = text("SELECT account_id, asset, SUM(amount) AS amount FROM balances "
                 "GROUP BY account_id, asset ORDER BY account_id, asset")


def _entries(conn: Connection, period: int | None,
             tick: Callable[[int], None]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Journal entries with their legs, in id order (legs streamed, grouped as they come)."""
    where = "" if period is None else " WHERE e.period = :period"
    result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(
        text(f"{_JOURNAL}{where} ORDER BY e.id, p.leg"), {"period": period})
    current: dict[str, Any] | None = None
    legs: list[dict[str, Any]] = []
    for r in result:
        if current is None or current["id"] != r.id:
            if current is not None:
                yield current, legs
                tick(1)
            current = {"id": r.id, "period": r.period, "kind": r.kind, "ref_id": r.ref_id,
                       "memo": r.memo, "created_at": r.created_at}
            legs = []
        legs.append({"account_id": r.account_id, "asset": r.asset, "amount": r.amount})
    if current is not None:
        yield current, legs
        tick(1)


def write_beancount(conn: Connection, path: Path, period: int | None, progress: Progress) -> None:
    """The journal as a Beancount file (see :mod:`gongsheng.services.beancount_export`)."""
    total = count_rows(conn, DATASETS[0], period)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if done[0] % 1000 == 0 or done[0] == total:
            progress("beancount", done[0], total)

    accounts = [(int(a), str(s), int(v)) for a, s, v in conn.execute(_ACCOUNTS)]  # O(accounts)
    last_day = "2000-01-01"
    title = "gongsheng books" + ("" if period is None else f", period {period}")
    with path.open("w", encoding="utf-8") as out:
        out.writelines(beancount.header(title, [(a, s) for a, s, _ in accounts]))
        for entry, legs in _entries(conn, period, tick):
            last_day = max(last_day, str(entry["created_at"])[:10])
            out.write(beancount.transaction(entry, legs))
        if period is None:  # the whole journal must sum to the balance rows
            out.writelines(beancount.assertions(last_day, accounts))
    progress("beancount", total, total)


def export_books(conn: Connection, out_dir: Path, period: int | None = None, fmt: str = "csv",
                 progress: Progress | None = None) -> list[Path]:
    """Write the datasets (csv, parquet) or the Beancount journal into ``out_dir``; the files."""
    report = progress or (lambda _name, _done, _total: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "" if period is None else f"-period-{period}"
    if fmt == "beancount":
        path = out_dir / f"books{suffix}.beancount"
        write_beancount(conn, path, period, report)
        return [path]
    if fmt not in ("csv", "parquet"):
        raise InvalidInput(f"unknown export format {fmt!r} (csv, parquet or beancount)")
    sink_type = CsvSink if fmt == "csv" else ParquetSink
    written = []
    for dataset in DATASETS:
        total = count_rows(conn, dataset, period)
        path = out_dir / f"{dataset.name}{suffix}{sink_type.suffix}"
        done = 0
        report(dataset.name, 0, total)
        with sink_type(path, dataset.columns) as sink:
            for rows in stream_rows(conn, dataset, period):
                sink.write(rows)
                done += len(rows)
                report(dataset.name, done, total)
        written.append(path)
    return written
