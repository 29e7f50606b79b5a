"""The books exported (导出): journal entries and their legs, balances at the end of each
period, orders and refunds, as streamed rows.

Each dataset is a query read in chunks (``adapters/export_queries.py``) and written as it is read,
so memory does not grow with the books. ``period`` restricts every dataset to one period (the
balances to that period's end).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from gongsheng.adapters.export_files import CsvSink, ParquetSink
from gongsheng.adapters.export_queries import (
    DATASETS,
    Dataset,
    account_totals,
    count_rows,
    dataset_chunks,
    journal_legs,
)
from gongsheng.domain.errors import InvalidInput
from gongsheng.domain.ledger import account_name
from gongsheng.views import beancount_export as beancount


def stream_rows(conn: Connection, dataset: Dataset, period: int | None) -> Iterator[list[dict[str, Any]]]:
    """The dataset's rows in chunks, in a stable order, each account named and each time a string."""
    names = [c for c, _ in dataset.columns]
    for chunk in dataset_chunks(conn, dataset, period):
        rows = []
        for row in chunk:
            if "account_id" in row:
                row["account"] = account_name(int(row["account_id"]))
            if "created_at" in row and row["created_at"] is not None:
                row["created_at"] = str(row["created_at"])
            rows.append({n: row.get(n) for n in names})
        yield rows


Progress = Callable[[str, int, int], None]
"""``progress(dataset name, rows written, rows in all)``."""


def _entries(conn: Connection, period: int | None,
             tick: Callable[[int], None]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Journal entries with their legs, in id order (legs streamed, grouped as they come)."""
    current: dict[str, Any] | None = None
    legs: list[dict[str, Any]] = []
    for r in journal_legs(conn, period):
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
    """The journal as a Beancount file (see :mod:`gongsheng.views.beancount_export`)."""
    total = count_rows(conn, DATASETS[0], period)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if done[0] % 1000 == 0 or done[0] == total:
            progress("beancount", done[0], total)

    accounts = account_totals(conn)  # O(accounts)
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
