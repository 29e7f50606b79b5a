"""Where seals are computed over the journal and stored (the canonical form: ``domain/seals.py``).

On PostgreSQL one query per range of entry ids builds every entry's canonical bytes, hashes them
(``sha256``), and aggregates the digests per chunk, so the journal never leaves the server; on
SQLite (and on demand on PostgreSQL, to check the two agree) the rows are read in id order and
hashed in Python. Both read the primary keys of ``journal_entries`` and ``postings`` only.

The seal tables are append-only, refused updates and deletes by triggers like the journal's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import partial

from sqlalchemy import Connection, func, insert, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.ddl import append_only_guards, run_for_dialect
from gongsheng.adapters.snapshots import SnapshotReaders
from gongsheng.domain.seals import (
    CHUNK_ENTRIES,
    Chunk,
    PeriodFacts,
    StoredSeal,
    chunks_from_entries,
    entry_digests,
)

SCAN_IDS = 64 * CHUNK_ENTRIES
"""Entry ids one scan query covers (progress is reported after each)."""
SCAN_WORKERS = max(1, min(4, os.cpu_count() or 1))
"""Connections a check of sealed periods scans on at once (PostgreSQL): one per core, at most
four."""

_ENTRY_BYTES = """
CASE WHEN e.id IS NULL THEN '\\x00'::bytea || int8send(l.entry_id)
ELSE '\\x01'::bytea || int8send(e.id::bigint) || int4send(e.period)
     || int4send(octet_length(e.kind)) || convert_to(e.kind, 'UTF8')
     || CASE WHEN e.ref_id IS NULL THEN '\\x00'::bytea ELSE '\\x01'::bytea || int8send(e.ref_id) END
     || int4send(e.leg_count) || int4send(octet_length(e.memo)) || convert_to(e.memo, 'UTF8')
END || coalesce(l.b, ''::bytea)
"""

_PG_CHUNKS = " ".join(f"""
WITH l AS (
    SELECT entry_id, count(*) AS n,
           string_agg(int4send(leg) || int8send(account_id) || int4send(octet_length(asset))
                      || convert_to(asset, 'UTF8') || int8send(amount), ''::bytea ORDER BY leg) AS b
    FROM postings WHERE entry_id BETWEEN %(lo)s AND %(hi)s GROUP BY entry_id
), d AS (
    SELECT coalesce(e.id, l.entry_id) AS id, coalesce(l.n, 0) AS n, sha256({_ENTRY_BYTES}) AS h
    FROM (SELECT * FROM journal_entries WHERE id BETWEEN %(lo)s AND %(hi)s) AS e
    FULL JOIN l ON l.entry_id = e.id
)
SELECT (id - %(base)s) / {CHUNK_ENTRIES} AS chunk, min(id), max(id), count(*), sum(n),
       sha256(string_agg(h, ''::bytea ORDER BY id)),
       string_agg(substring(h FROM 1 FOR 8), ''::bytea ORDER BY id)
FROM d GROUP BY 1 ORDER BY 1
""".split())


def _ranges(first_id: int, last_id: int) -> Iterator[tuple[int, int]]:
    lo = first_id
    while lo <= last_id:
        hi = min(last_id, lo + SCAN_IDS - 1)
        yield lo, hi
        lo = hi + 1


def scan_chunks_sql(conn: Connection, first_id: int, lo: int, hi: int) -> list[Chunk]:
    """PostgreSQL: the chunks of entry ids ``[lo, hi]`` (chunk numbers counted from ``first_id``;
    ``lo - first_id`` must be a multiple of ``CHUNK_ENTRIES``)."""
    # the digests of a range are sorted by chunk in memory, not spilled to disk
    conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
    rows = conn.exec_driver_sql(_PG_CHUNKS, {"lo": lo, "hi": hi, "base": first_id}).all()
    return [Chunk(int(c), int(a), int(b), int(n), int(p), bytes(d), bytes(f))
            for c, a, b, n, p, d, f in rows]


def entry_digest_rows(conn: Connection, lo: int, hi: int) -> list[tuple[int, int, bytes]]:
    """``(entry_id, postings, digest)`` of entry ids ``[lo, hi]``, hashed in Python."""
    e, p = t.journal_entries, t.postings
    entries = conn.execute(select(e.c.id, e.c.kind, e.c.period, e.c.ref_id, e.c.leg_count, e.c.memo)
                           .where(e.c.id.between(lo, hi)).order_by(e.c.id))
    legs = conn.execute(select(p.c.entry_id, p.c.leg, p.c.account_id, p.c.asset, p.c.amount)
                        .where(p.c.entry_id.between(lo, hi)).order_by(p.c.entry_id, p.c.leg))
    return list(entry_digests(entries, legs))


def scan_chunks_python(conn: Connection, first_id: int, lo: int, hi: int) -> list[Chunk]:
    """Any database: the same chunks as :func:`scan_chunks_sql`, hashed in Python."""
    return list(chunks_from_entries(entry_digest_rows(conn, lo, hi), first_id))


def scan_chunks(conn: Connection, first_id: int, lo: int, hi: int, *,
                python: bool = False) -> list[Chunk]:
    if conn.dialect.name == "postgresql" and not python:
        return scan_chunks_sql(conn, first_id, lo, hi)
    return scan_chunks_python(conn, first_id, lo, hi)


def scan_chunks_parallel(conn: Connection, first_id: int, ranges: Sequence[tuple[int, int]],
                         workers: int) -> Iterator[list[Chunk]]:
    """PostgreSQL: :func:`scan_chunks_sql` of each range, yielded in range order, computed on
    ``workers`` connections reading ``conn``'s snapshot (:class:`SnapshotReaders`).

    For committed, sealed ranges (a check, not a seal being made): the other connections do
    not see what ``conn``'s transaction has not committed."""
    with SnapshotReaders(conn, workers) as readers:
        scans = [readers.submit(partial(_scan_range, first_id, bounds)) for bounds in ranges]
        for scan in scans:
            yield scan.result()


def _scan_range(first_id: int, bounds: tuple[int, int], conn: Connection) -> list[Chunk]:
    return scan_chunks_sql(conn, first_id, *bounds)


def scan_ranges(first_id: int, last_id: int) -> list[tuple[int, int]]:
    """The id ranges a scan of ``[first_id, last_id]`` runs as, chunk-aligned from ``first_id``."""
    return list(_ranges(first_id, last_id))


def seals(conn: Connection, since: int = 0) -> list[StoredSeal]:
    s = t.period_seals
    rows = conn.execute(select(s.c.period, s.c.first_id, s.c.last_id, s.c.entries, s.c.postings,
                               s.c.previous, s.c.digest).where(s.c.period >= since)
                        .order_by(s.c.period)).all()
    return [StoredSeal(int(a), int(b), int(c), int(d), int(e), f, g) for a, b, c, d, e, f, g in rows]


def seal_of(conn: Connection, period: int) -> StoredSeal | None:
    found = seals(conn, period)
    return found[0] if found and found[0].period == period else None


def last_seal(conn: Connection) -> StoredSeal | None:
    s = t.period_seals
    top = conn.execute(select(func.max(s.c.period))).scalar()
    return None if top is None else seal_of(conn, int(top))


def stored_chunks(conn: Connection, period: int) -> list[Chunk]:
    c = t.period_seal_chunks
    rows = conn.execute(select(c.c.chunk, c.c.first_id, c.c.last_id, c.c.entries, c.c.postings,
                               c.c.digest, c.c.fingerprints).where(c.c.period == period)
                        .order_by(c.c.chunk)).all()
    return [Chunk(int(n), int(a), int(b), int(e), int(p), bytes.fromhex(d), bytes(f))
            for n, a, b, e, p, d, f in rows]


def store_seal(conn: Connection, seal: StoredSeal, chunks: Sequence[Chunk]) -> None:
    conn.execute(insert(t.period_seals), {
        "period": seal.period, "first_id": seal.first_id, "last_id": seal.last_id,
        "entries": seal.entries, "postings": seal.postings, "previous": seal.previous,
        "digest": seal.digest})
    if chunks:
        conn.execute(insert(t.period_seal_chunks), [
            {"period": seal.period, "chunk": c.chunk, "first_id": c.first_id, "last_id": c.last_id,
             "entries": c.entries, "postings": c.postings, "digest": c.digest.hex(),
             "fingerprints": c.fingerprints} for c in chunks])


def period_facts(conn: Connection, period: int) -> PeriodFacts | None:
    p = t.periods
    row = conn.execute(select(p.c.release_rate, p.c.nominal_rate, p.c.released_fen, p.c.unfunded_fen)
                       .where(p.c.seq == period)).first()
    if row is None:
        return None
    return PeriodFacts(period, *(int(v or 0) for v in row))


def closed_periods(conn: Connection) -> list[int]:
    p = t.periods
    return [int(s) for s in conn.execute(select(p.c.seq).where(p.c.status == "closed")
                                         .order_by(p.c.seq)).scalars()]


def max_entry_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(t.journal_entries.c.id))).scalar() or 0)


def last_entry_of(conn: Connection, period: int, after: int) -> int:
    """The highest id of an entry of ``period`` or before, above ``after`` (a scan of that tail:
    used only to seal periods closed before seals existed)."""
    e = t.journal_entries
    found = conn.execute(select(func.max(e.c.id)).where(e.c.id > after, e.c.period <= period)).scalar()
    return after if found is None else int(found)


def misplaced_entries(conn: Connection, after: int, sealed_through: int) -> tuple[int, int | None]:
    """Entries above the sealed ranges stamped with a sealed period: their count and the first."""
    e = t.journal_entries
    row = conn.execute(select(func.count(), func.min(e.c.id))
                       .where(e.c.id > after, e.c.period <= sealed_through)).one()
    return int(row[0]), None if row[1] is None else int(row[1])


def entries_outside(conn: Connection, below: int) -> tuple[int, int | None]:
    """Entries (or legs) with ids below the first sealed range."""
    e, p = t.journal_entries, t.postings
    n = int(conn.execute(select(func.count()).where(e.c.id < below)).scalar_one())
    n += int(conn.execute(select(func.count()).where(p.c.entry_id < below)).scalar_one())
    first = conn.execute(select(func.min(e.c.id)).where(e.c.id < below)).scalar()
    return n, None if first is None else int(first)


class SqlSealStore:
    """:class:`~gongsheng.services.ports.seals.SealStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def scan_ranges(self, first_id: int, last_id: int) -> list[tuple[int, int]]:
        return scan_ranges(first_id, last_id)

    def scan_chunks(self, first_id: int, lo: int, hi: int, *, python: bool = False) -> list[Chunk]:
        return scan_chunks(self.conn, first_id, lo, hi, python=python)

    def scan_sealed(self, first_id: int, ranges: Sequence[tuple[int, int]]
                    ) -> Iterator[list[Chunk]]:
        if self.conn.dialect.name == "postgresql" and SCAN_WORKERS > 1 and len(ranges) > 1:
            return scan_chunks_parallel(self.conn, first_id, ranges, SCAN_WORKERS)
        return (scan_chunks(self.conn, first_id, lo, hi) for lo, hi in ranges)

    def entry_digest_rows(self, lo: int, hi: int) -> list[tuple[int, int, bytes]]:
        return entry_digest_rows(self.conn, lo, hi)

    def seals(self, since: int = 0) -> list[StoredSeal]:
        return seals(self.conn, since)

    def seal_of(self, period: int) -> StoredSeal | None:
        return seal_of(self.conn, period)

    def last_seal(self) -> StoredSeal | None:
        return last_seal(self.conn)

    def stored_chunks(self, period: int) -> list[Chunk]:
        return stored_chunks(self.conn, period)

    def store_seal(self, seal: StoredSeal, chunks: Sequence[Chunk]) -> None:
        store_seal(self.conn, seal, chunks)

    def period_facts(self, period: int) -> PeriodFacts | None:
        return period_facts(self.conn, period)

    def closed_periods(self) -> list[int]:
        return closed_periods(self.conn)

    def max_entry_id(self) -> int:
        return max_entry_id(self.conn)

    def last_entry_of(self, period: int, after: int) -> int:
        return last_entry_of(self.conn, period, after)

    def misplaced_entries(self, after: int, sealed_through: int) -> tuple[int, int | None]:
        return misplaced_entries(self.conn, after, sealed_through)

    def entries_outside(self, below: int) -> tuple[int, int | None]:
        return entries_outside(self.conn, below)


SEAL_GUARDS_POSTGRES, SEAL_GUARDS_SQLITE = append_only_guards(
    "gs_seals_append_only", "seals are append-only", ["period_seals", "period_seal_chunks"])


def install_seal_guards(conn: Connection) -> None:
    """Create the seal tables' append-only triggers (idempotent)."""
    run_for_dialect(conn, SEAL_GUARDS_POSTGRES, SEAL_GUARDS_SQLITE)
