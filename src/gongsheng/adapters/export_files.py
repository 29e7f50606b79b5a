"""Files of ``gongsheng export``: CSV (standard library) and Parquet (``pyarrow``, optional:
``pip install gongsheng[export]``), each written chunk by chunk."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from gongsheng.domain.errors import InvalidInput


class CsvSink:
    """A CSV file with a header row."""

    suffix = ".csv"

    def __init__(self, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        self._file: TextIO = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=[c for c, _ in columns])
        self._writer.writeheader()

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._writer.writerows(rows)

    def __enter__(self) -> CsvSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._file.close()


class ParquetSink:
    """A Parquet file; integer columns are int64, the others strings (nullable)."""

    suffix = ".parquet"

    def __init__(self, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise InvalidInput("the parquet format needs pyarrow: pip install "
                               "'gongsheng[export]'") from None
        self._pa = pa
        self._schema = pa.schema([(c, pa.int64() if kind == "int" else pa.string())
                                  for c, kind in columns])
        self._writer = pq.ParquetWriter(str(path), self._schema)

    def write(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._writer.write_table(self._pa.Table.from_pylist(rows, schema=self._schema))

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._writer.close()
