"""Sealing closed periods and checking the seals (tamper evidence, ``docs/integrity.md``).

A close seals its period in its own transaction, once the release entry and the period's
figures are written: the period's entries are the ids above the previous seal's range up to
the highest id (the close holds the books alone). Periods closed before seals existed are
sealed first, in order, so the chain has no gap. Nothing here is written per order: the only
rows are one per period and one per chunk of ``CHUNK_ENTRIES`` entries, written at the close.

Checking recomputes every sealed period's chunks from the journal and compares them with the
stored ones; the first chunk that differs is narrowed to its first entry whose fingerprint no
longer matches. The incremental check recomputes nothing sealed: it checks the chain of stored
seals and that no entry above the last sealed range claims a sealed period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gongsheng.domain.errors import InvariantViolation, NotFound
from gongsheng.domain.seals import (
    CHUNK_ENTRIES,
    Chunk,
    StoredSeal,
    chunks_from_entries,
    first_mismatch,
    period_digest,
)
from gongsheng.services.ports.work import Stores

Progress = Callable[[int], None]
"""Called with the number of entries just scanned."""


def _noop(_: int) -> None:
    return None


def compute_chunks(stores: Stores, first_id: int, last_id: int, *, python: bool = False,
                   sealed: bool = False, progress: Progress = _noop) -> list[Chunk]:
    """The chunks of entry ids ``[first_id, last_id]``; ``sealed``: a committed, sealed range,
    which the store may scan several parts of at once."""
    ranges = stores.seals.scan_ranges(first_id, last_id)
    scans = (stores.seals.scan_sealed(first_id, ranges) if sealed and not python else
             (stores.seals.scan_chunks(first_id, lo, hi, python=python) for lo, hi in ranges))
    out: list[Chunk] = []
    for found in scans:
        out.extend(found)
        progress(sum(c.entries for c in found))
    return out


def seal_period(stores: Stores, period: int, last_id: int | None = None) -> StoredSeal:
    """Seal closed ``period`` (idempotent: an existing seal is returned unchanged).

    ``last_id`` is the highest entry id of the period (the current highest id when omitted,
    which is right inside a close)."""
    existing = stores.seals.seal_of(period)
    if existing is not None:
        return existing
    previous = stores.seals.last_seal()
    if previous is not None and previous.period >= period:
        raise InvariantViolation(f"period {period} is before the last sealed period {previous.period}")
    first_id = 1 if previous is None else previous.last_id + 1
    top = stores.seals.max_entry_id() if last_id is None else last_id
    top = max(top, first_id - 1)
    chunks = compute_chunks(stores, first_id, top)
    facts = stores.seals.period_facts(period)
    if facts is None:
        raise NotFound(f"period {period} does not exist")
    prev_digest = None if previous is None else bytes.fromhex(previous.digest)
    digest = period_digest(facts, prev_digest, first_id, top, chunks)
    seal = StoredSeal(period, first_id, top, sum(c.entries for c in chunks),
                            sum(c.postings for c in chunks),
                            None if previous is None else previous.digest, digest.hex())
    stores.seals.store_seal(seal, chunks)
    return seal


def seal_unsealed(stores: Stores, before: int | None = None) -> list[StoredSeal]:
    """Seal every closed period (below ``before``, if given) not sealed yet, in order."""
    done: list[StoredSeal] = []
    last = stores.seals.last_seal()
    after = 0 if last is None else last.last_id
    for period in stores.seals.closed_periods():
        if (before is not None and period >= before) or (last is not None and period <= last.period):
            continue
        top = stores.seals.last_entry_of(period, after)
        done.append(seal_period(stores, period, top))
        after = top
    return done


def seal_at_close(stores: Stores, period: int) -> StoredSeal:
    """Inside a close, after the period's figures are written: seal earlier unsealed periods,
    then this one."""
    seal_unsealed(stores, before=period)
    return seal_period(stores, period)


@dataclass(frozen=True)
class SealReport:
    """The outcome of checking the seals: ok, or the first period and entry that differ."""

    ok: bool
    detail: str
    period: int | None = None
    entry_id: int | None = None
    scanned: int = 0


def entries_to_scan(stores: Stores, incremental: bool) -> int:
    """How many entries a check will read (for a progress bar)."""
    sealed = stores.seals.seals()
    tail = stores.seals.max_entry_id() - (sealed[-1].last_id if sealed else 0)
    return max(tail, 0) + (0 if incremental else sum(s.entries for s in sealed))


def _name_entry(stores: Stores, seal: StoredSeal, stored: list[Chunk],
                found: list[Chunk]) -> tuple[int | None, str]:
    first = first_mismatch(stored, found)
    if first is None:
        return None, "its chunks match but the seal does not: the period's release figures changed"
    lo = seal.first_id + first.chunk * CHUNK_ENTRIES
    hi = min(seal.last_id, lo + CHUNK_ENTRIES - 1)
    rows = stores.seals.entry_digest_rows(lo, hi)
    ids = {first.chunk: [r[0] for r in rows]}
    named = first_mismatch(stored, list(chunks_from_entries(rows, seal.first_id)), ids) or first
    return named.entry_id, named.detail


def verify_seals(stores: Stores, *, incremental: bool = False,
                 progress: Progress = _noop) -> SealReport:
    """Check the chain of seals; unless ``incremental``, recompute every sealed period."""
    sealed = stores.seals.seals()
    closed = stores.seals.closed_periods()
    scanned = 0
    previous: StoredSeal | None = None
    for seal in sealed:
        expect_prev = None if previous is None else previous.digest
        expect_first = 1 if previous is None else previous.last_id + 1
        if seal.previous != expect_prev or seal.first_id != expect_first:
            return SealReport(False, f"period {seal.period}: the seal does not chain to the one before",
                              seal.period, None, scanned)
        stored = stores.seals.stored_chunks(seal.period)
        chunks = stored
        if not incremental:
            chunks = compute_chunks(stores, seal.first_id, seal.last_id, sealed=True,
                                    progress=progress)
            scanned += sum(c.entries for c in chunks)
        facts = stores.seals.period_facts(seal.period)
        digest = None if facts is None else period_digest(
            facts, None if expect_prev is None else bytes.fromhex(expect_prev), seal.first_id,
            seal.last_id, chunks)
        if digest is None or digest.hex() != seal.digest:
            entry, why = _name_entry(stores, seal, stored, chunks)
            where = f", first entry {entry}" if entry is not None else ""
            return SealReport(False, f"period {seal.period} no longer matches its seal{where}: {why}",
                              seal.period, entry, scanned)
        previous = seal
    unsealed = [p for p in closed if p not in {s.period for s in sealed}]
    if unsealed:
        return SealReport(False, f"closed period {unsealed[0]} has no seal", unsealed[0], None, scanned)
    through = sealed[-1].period if sealed else 0
    after = sealed[-1].last_id if sealed else 0
    if sealed:
        below, first_below = stores.seals.entries_outside(1)
        if below:
            return SealReport(False, f"{below} journal rows lie below the sealed ranges",
                              None, first_below, scanned)
    misplaced, first = stores.seals.misplaced_entries(after, through)
    tail = stores.seals.max_entry_id() - after
    progress(max(tail, 0))
    scanned += max(tail, 0)
    if misplaced:
        return SealReport(False, f"{misplaced} entries after the last seal claim a sealed period, "
                                 f"first entry {first}", None, first, scanned)
    mode = "chain checked" if incremental else "recomputed"
    return SealReport(True, f"{len(sealed)} sealed periods {mode}; {max(tail, 0)} entries since "
                            f"the last seal", None, None, scanned)


__all__ = ["Progress", "SealReport", "compute_chunks", "entries_to_scan", "seal_at_close",
           "seal_period", "seal_unsealed", "verify_seals"]
