"""Files of ``gongsheng import``: CSV (standard library) or Parquet (``pyarrow``), read in chunks.

:func:`read_rows` yields the file's rows a chunk at a time, each as ``(line, fields)``: ``line``
is where the row is in the file (CSV: its physical line, the header being line 1; Parquet: its
row number counting from 1, plus 1, so that both count the same way), ``fields`` maps each
column to its value as the file holds it (CSV: a string, ``""`` when empty; Parquet: the
column's Python value, ``None`` when null). Nothing is converted here: the caller validates.
Memory holds one chunk, whatever the file's size.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gongsheng.domain.errors import InvalidInput

Row = tuple[int, dict[str, Any]]
CHUNK_ROWS = 5_000


def file_format(path: Path) -> str:
    """``"csv"`` or ``"parquet"``, by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise InvalidInput(f"{path.name}: unknown file type {suffix!r} (use .csv or .parquet)")


def read_rows(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[list[Row]]:
    """The rows of ``path`` in chunks of at most ``chunk_rows``."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    if file_format(path) == "csv":
        yield from _csv_rows(path, chunk_rows)
    else:
        yield from _parquet_rows(path, chunk_rows)


def columns(path: Path) -> list[str]:
    """The file's column names (its header)."""
    if file_format(path) == "csv":
        with path.open(encoding="utf-8", newline="") as f:
            return next(csv.reader(f), [])
    pq = _pyarrow_parquet()
    return list(pq.ParquetFile(path).schema_arrow.names)


def count_rows(path: Path) -> int:
    """About how many rows the file has (for a progress bar): Parquet's metadata; CSV's lines
    after the header, counted in binary blocks."""
    if file_format(path) == "parquet":
        return int(_pyarrow_parquet().ParquetFile(path).metadata.num_rows)
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(0, lines + (last != b"\n") - 1)


def _csv_rows(path: Path, chunk_rows: int) -> Iterator[list[Row]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return
        chunk: list[Row] = []
        for values in reader:
            if not values:
                continue  # a blank line
            fields: dict[str, Any] = dict(zip(header, values, strict=False))
            if len(values) != len(header):
                fields["__width__"] = len(values)
            chunk.append((reader.line_num, fields))
            if len(chunk) >= chunk_rows:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _parquet_rows(path: Path, chunk_rows: int) -> Iterator[list[Row]]:
    pq = _pyarrow_parquet()
    line = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        chunk: list[Row] = []
        for fields in batch.to_pylist():
            line += 1
            chunk.append((line, fields))
        yield chunk


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:  # pragma: no cover - pyarrow is installed with the package
        raise InvalidInput("reading parquet needs pyarrow: pip install gongsheng[export]") from err
    return pq
