"""Seals (封存) of closed periods: canonical bytes of the journal and the hashes over them.

A period's entries are the journal entries whose ids lie in the period's sealed range
``[first_id, last_id]`` (a close holds the books alone, so every entry of a period is written
before its close and every later entry gets a higher id). The canonical form, byte for byte
(``docs/integrity.md``; ``i4``/``i8`` are big-endian two's-complement integers, ``str`` is the
UTF-8 bytes prefixed by their length as ``i4``):

- an entry: ``0x01 i8(id) i4(period) str(kind) ref i4(leg_count) str(memo)`` then its legs in
  ``leg`` order, ``ref`` being ``0x00`` when ``ref_id`` is null and ``0x01 i8(ref_id)`` otherwise;
  legs whose entry row is missing read ``0x00 i8(entry_id)`` then the legs;
- a leg: ``i4(leg) i8(account_id) str(asset) i8(amount)``;
- an entry's digest is SHA-256 of its bytes; its fingerprint the first 8 bytes of that digest;
- a chunk is the entries with ``(id - first_id) // CHUNK_ENTRIES`` equal; its digest is SHA-256
  of its entries' digests concatenated in id order;
- the period's seal is SHA-256 of ``"gongsheng-seal-1" i4(period) previous i8(first_id)
  i8(last_id) i8(entries) i8(postings)`` and the period's release figures (``i8`` each:
  release_rate, nominal_rate, released_fen, unfunded_fen) and then every chunk's ``i8(chunk)``
  and digest in chunk order; ``previous`` is the previous seal's 32 bytes, or 32 zero bytes for
  the first seal. So each seal chains to the one before it.

The same bytes are built here (Python) and by the PostgreSQL query in
``adapters/seal_store.py``; tests check that both give the same digests.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

SEAL_VERSION = b"gongsheng-seal-1"
CHUNK_ENTRIES = 1024
"""Entry ids per chunk: a mismatch is narrowed to a chunk by its digest, then to an entry by
its fingerprint (8 bytes per entry are stored with the chunk)."""
FINGERPRINT_BYTES = 8
GENESIS = bytes(32)

_I4 = struct.Struct(">i")
_I8 = struct.Struct(">q")
_LEG = struct.Struct(">iqi3sq")


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return _I4.pack(len(raw)) + raw


def entry_header(entry_id: int, kind: str, period: int, ref_id: int | None, leg_count: int,
                 memo: str) -> bytes:
    """The canonical bytes of an entry row (without its legs)."""
    ref = b"\x00" if ref_id is None else b"\x01" + _I8.pack(ref_id)
    return (b"\x01" + _I8.pack(entry_id) + _I4.pack(period) + _text(kind) + ref
            + _I4.pack(leg_count) + _text(memo))


def missing_header(entry_id: int) -> bytes:
    """The canonical bytes standing for an entry row that is gone while legs name it."""
    return b"\x00" + _I8.pack(entry_id)


def leg_bytes(leg: int, account_id: int, asset: str, amount: int) -> bytes:
    """The canonical bytes of one posting."""
    raw = asset.encode("utf-8")
    if len(raw) == 3:
        return _LEG.pack(leg, account_id, 3, raw, amount)
    return _I4.pack(leg) + _I8.pack(account_id) + _text(asset) + _I8.pack(amount)


@dataclass(frozen=True)
class Chunk:
    """The digest of one chunk of a period's entries, with the fingerprint of each entry."""

    chunk: int
    first_id: int
    last_id: int
    entries: int
    postings: int
    digest: bytes
    fingerprints: bytes


@dataclass(frozen=True)
class StoredSeal:
    """A period's seal as stored: its range of entry ids, their counts, the previous seal's
    digest (None for the first) and its own digest (hex)."""

    period: int
    first_id: int
    last_id: int
    entries: int
    postings: int
    previous: str | None
    digest: str


@dataclass(frozen=True)
class PeriodFacts:
    """What a seal covers besides the entries: the period and its stored release figures."""

    period: int
    release_rate: int
    nominal_rate: int
    released_fen: int
    unfunded_fen: int


def chunk_of(entry_id: int, first_id: int) -> int:
    return (entry_id - first_id) // CHUNK_ENTRIES


def chunks_from_entries(digests: Iterable[tuple[int, int, bytes]], first_id: int) -> Iterator[Chunk]:
    """Group ``(entry_id, postings, entry digest)`` in id order into chunks."""
    current: int | None = None
    ids: list[int] = []
    legs = 0
    parts: list[bytes] = []
    for entry_id, n, digest in digests:
        c = chunk_of(entry_id, first_id)
        if c != current:
            if current is not None:
                yield _chunk(current, ids, legs, parts)
            current, ids, legs, parts = c, [], 0, []
        ids.append(entry_id)
        legs += n
        parts.append(digest)
    if current is not None:
        yield _chunk(current, ids, legs, parts)


def _chunk(c: int, ids: list[int], legs: int, parts: list[bytes]) -> Chunk:
    return Chunk(c, ids[0], ids[-1], len(ids), legs, hashlib.sha256(b"".join(parts)).digest(),
                 b"".join(p[:FINGERPRINT_BYTES] for p in parts))


def entry_digests(entries: Iterable[tuple[int, str, int, int | None, int, str]],
                  legs: Iterable[tuple[int, int, int, str, int]]) -> Iterator[tuple[int, int, bytes]]:
    """Merge entry rows and legs (both in id order; legs in ``(entry_id, leg)`` order) into
    ``(entry_id, postings, digest)`` in id order, legs without an entry row included."""
    leg_iter = iter(legs)
    pending = next(leg_iter, None)
    entry_iter = iter(entries)
    row = next(entry_iter, None)
    while row is not None or pending is not None:
        if row is not None and (pending is None or row[0] <= pending[0]):
            entry_id, head = row[0], entry_header(*row)
            row = next(entry_iter, None)
        else:
            assert pending is not None
            entry_id, head = pending[0], missing_header(pending[0])
        h = hashlib.sha256(head)
        n = 0
        while pending is not None and pending[0] == entry_id:
            h.update(leg_bytes(*pending[1:]))
            n += 1
            pending = next(leg_iter, None)
        yield entry_id, n, h.digest()


def period_digest(facts: PeriodFacts, previous: bytes | None, first_id: int, last_id: int,
                  chunks: Sequence[Chunk]) -> bytes:
    """The seal of a period: its facts, the previous seal, and its chunks' digests."""
    h = hashlib.sha256(SEAL_VERSION)
    h.update(_I4.pack(facts.period))
    h.update(previous if previous is not None else GENESIS)
    h.update(_I8.pack(first_id) + _I8.pack(last_id))
    h.update(_I8.pack(sum(c.entries for c in chunks)) + _I8.pack(sum(c.postings for c in chunks)))
    for value in (facts.release_rate, facts.nominal_rate, facts.released_fen, facts.unfunded_fen):
        h.update(_I8.pack(value))
    for c in chunks:
        h.update(_I8.pack(c.chunk) + c.digest)
    return h.digest()


def _split(fingerprints: bytes) -> list[bytes]:
    return [fingerprints[i:i + FINGERPRINT_BYTES] for i in range(0, len(fingerprints), FINGERPRINT_BYTES)]


@dataclass(frozen=True)
class Mismatch:
    """Where recomputed chunks first differ from the stored ones."""

    chunk: int
    entry_id: int | None  # the first entry whose fingerprint differs (None: none to name)
    detail: str


def first_mismatch(stored: Sequence[Chunk], found: Sequence[Chunk],
                   ids_of: dict[int, list[int]] | None = None) -> Mismatch | None:
    """Compare stored and recomputed chunks; ``ids_of`` maps a recomputed chunk to its entry ids
    (in order), used to name the first entry whose fingerprint no longer matches."""
    by_chunk = {c.chunk: c for c in found}
    stored_by = {c.chunk: c for c in stored}
    for number in sorted(set(by_chunk) | set(stored_by)):
        was, now = stored_by.get(number), by_chunk.get(number)
        if was is not None and now is not None and was.digest == now.digest \
                and (was.first_id, was.last_id, was.entries, was.postings) == \
                (now.first_id, now.last_id, now.entries, now.postings):
            continue
        if now is None:
            assert was is not None
            return Mismatch(number, was.first_id, f"entries {was.first_id}..{was.last_id} are gone")
        ids = (ids_of or {}).get(number, [])
        old = [] if was is None else _split(was.fingerprints)
        new = _split(now.fingerprints)
        for pos in range(max(len(old), len(new))):
            a = old[pos] if pos < len(old) else None
            b = new[pos] if pos < len(new) else None
            if a == b:
                continue
            if b is None or (a is not None and old[pos + 1:pos + 2] == [b]):
                # the stored entry at pos has no counterpart: gone (name the id it had at least)
                gone = (ids[pos - 1] + 1 if 0 < pos <= len(ids) else
                        was.first_id if was is not None and pos == 0 else
                        was.last_id if was is not None else None)
                return Mismatch(number, gone, f"entry {gone} is gone" if gone is not None
                                else f"an entry of chunk {number} is gone")
            entry = ids[pos] if pos < len(ids) else None
            what = "was added" if a is None else "was altered"
            return Mismatch(number, entry, f"entry {entry} {what}" if entry is not None
                            else f"an entry of chunk {number} {what}")
        return Mismatch(number, now.first_id, f"chunk {number} differs")
    return None
