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
    """The rows of ``path`` in chunks of at most ``chunk_rows``; a file that cannot be read
    (missing, not UTF-8, not Parquet) is :class:`InvalidInput`."""
    _exists(path)
    try:
        if file_format(path) == "csv":
            yield from _csv_rows(path, chunk_rows)
        else:
            yield from _parquet_rows(path, chunk_rows)
    except (UnicodeDecodeError, csv.Error) as err:
        raise InvalidInput(f"{path.name} is not a readable UTF-8 CSV file: {err}") from err
    except OSError as err:
        raise InvalidInput(f"cannot read {path}: {err}") from err


def _exists(path: Path) -> None:
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")


def columns(path: Path) -> list[str]:
    """The file's column names (its header)."""
    _exists(path)
    if file_format(path) == "csv":
        try:
            with path.open(encoding="utf-8", newline="") as f:
                return next(csv.reader(f), [])
        except (UnicodeDecodeError, csv.Error) as err:
            raise InvalidInput(f"{path.name} is not a readable UTF-8 CSV file: {err}") from err
    return list(_parquet_file(path).schema_arrow.names)


def count_rows(path: Path) -> int:
    """About how many rows the file has (for a progress bar): Parquet's metadata; CSV's lines
    after the header, counted in binary blocks."""
    _exists(path)
    if file_format(path) == "parquet":
        return int(_parquet_file(path).metadata.num_rows)
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
    line = 1
    for batch in _parquet_file(path).iter_batches(batch_size=chunk_rows):
        chunk: list[Row] = []
        for fields in batch.to_pylist():
            line += 1
            chunk.append((line, fields))
        yield chunk


def _parquet_file(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:  # pragma: no cover - pyarrow is installed with the package
        raise InvalidInput("reading parquet needs pyarrow: pip install gongsheng[export]") from err
    try:
        return pq.ParquetFile(path)
    except (ValueError, OSError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise InvalidInput(f"{path.name} is not a readable Parquet file: {err}") from err
