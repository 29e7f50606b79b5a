"""The seals of closed periods and the journal they are computed over (``services.seals``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from gongsheng.domain.seals import Chunk, PeriodFacts, StoredSeal


class SealStore(Protocol):
    """Seals are append-only, one per closed period, each chained to the one before it: the
    sealed ranges of entry ids follow each other from id 1 without a gap."""

    def scan_ranges(self, first_id: int, last_id: int) -> list[tuple[int, int]]:
        """The id ranges a scan of ``[first_id, last_id]`` runs as, chunk-aligned from ``first_id``."""
        ...

    def scan_chunks(self, first_id: int, lo: int, hi: int, *, python: bool = False) -> list[Chunk]:
        """The chunks of entry ids ``[lo, hi]`` (numbered from ``first_id``), computed by the
        database where it can, in Python when ``python``."""
        ...

    def scan_sealed(self, first_id: int, ranges: Sequence[tuple[int, int]]
                    ) -> Iterator[list[Chunk]]:
        """:meth:`scan_chunks` of each of ``ranges`` of a sealed (committed) period, in range
        order, perhaps several at once (PostgreSQL: on more connections)."""
        ...

    def entry_digest_rows(self, lo: int, hi: int) -> list[tuple[int, int, bytes]]:
        """``(entry_id, postings, digest)`` of entry ids ``[lo, hi]``, hashed in Python."""
        ...

    def seals(self, since: int = 0) -> list[StoredSeal]:
        """The seals of periods ``since`` on, by period."""
        ...

    def seal_of(self, period: int) -> StoredSeal | None:
        ...

    def last_seal(self) -> StoredSeal | None:
        ...

    def stored_chunks(self, period: int) -> list[Chunk]:
        ...

    def store_seal(self, seal: StoredSeal, chunks: Sequence[Chunk]) -> None:
        ...

    def period_facts(self, period: int) -> PeriodFacts | None:
        """The period's release figures the seal covers (None: no such period)."""
        ...

    def closed_periods(self) -> list[int]:
        ...

    def max_entry_id(self) -> int:
        ...

    def last_entry_of(self, period: int, after: int) -> int:
        """The highest id of an entry of ``period`` or before, above ``after`` (``after`` if none)."""
        ...

    def misplaced_entries(self, after: int, sealed_through: int) -> tuple[int, int | None]:
        """Entries above ``after`` stamped with a period up to ``sealed_through``: count and first."""
        ...

    def entries_outside(self, below: int) -> tuple[int, int | None]:
        """Entries (or legs) with ids below ``below``: count and first."""
        ...
