"""Reading import files chunk by chunk (``adapters.order_file``): lines, chunks and memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gongsheng.adapters.order_file import columns, count_rows, read_rows

HEADER = "external_order_id,merchant_external_id,consumer_external_id,amount_fen\n"


def test_csv_rows_carry_their_physical_lines_in_bounded_chunks(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(HEADER + "a,m,c,1\n\nb,m,c,2\n\"c\nd\",m,c,3\ne,m\n")
    chunks = list(read_rows(path, chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 2]
    rows = [r for c in chunks for r in c]
    assert [line for line, _ in rows] == [2, 4, 6, 7]  # blank line 3; a quoted newline
    assert rows[2][1]["external_order_id"] == "c\nd" and rows[3][1]["__width__"] == 2
    assert columns(path) == HEADER.strip().split(",")


def test_parquet_rows_are_numbered_as_csv_lines(tmp_path: Path) -> None:
    path = tmp_path / "o.parquet"
    pq.write_table(pa.table({"external_order_id": ["a", "b", "c"], "amount_fen": [1, 2, None]}),
                   path)
    rows = [r for c in read_rows(path, chunk_rows=2) for r in c]
    assert [(line, f["amount_fen"]) for line, f in rows] == [(2, 1), (3, 2), (4, None)]
    assert count_rows(path) == 3


def test_reading_a_large_csv_holds_one_chunk_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    n = 100_000
    with path.open("w") as f:
        f.write(HEADER)
        f.writelines(f"order-{i:09d},merchant-{i % 97},consumer-{i % 1013},{i + 1}\n"
                     for i in range(n))
    assert count_rows(path) == n
    size = path.stat().st_size
    tracemalloc.start()
    try:
        seen = sum(len(chunk) for chunk in read_rows(path, chunk_rows=1_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == n
    assert peak < size / 3, (peak, size)  # all rows held: about 10 times the size
