"""The seal's canonical form: any change to one entry or leg changes the seal, and the stored
fingerprints name that entry."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.domain.seals import (
    CHUNK_ENTRIES,
    Chunk,
    PeriodFacts,
    chunks_from_entries,
    entry_digests,
    first_mismatch,
    leg_bytes,
    period_digest,
)

Entry = tuple[int, str, int, int | None, int, str]
Leg = tuple[int, int, int, str, int]


@st.composite
def journals(draw: st.DrawFn) -> tuple[list[Entry], list[Leg]]:
    n = draw(st.integers(min_value=1, max_value=3 * CHUNK_ENTRIES // 2))
    gaps = draw(st.lists(st.integers(min_value=1, max_value=3), min_size=n, max_size=n))
    ids, at = [], 0
    for g in gaps:
        at += g
        ids.append(at)
    entries: list[Entry] = []
    legs: list[Leg] = []
    for i in ids:
        count = 2 + i % 3
        entries.append((i, "order", 1, i * 7 if i % 2 else None, count, f"m{i}"))
        legs += [(i, leg, 64 * i + leg, "CNY", (-1) ** leg * (i + 1)) for leg in range(count)]
    return entries, legs


FACTS = PeriodFacts(1, 10, 20, 30, 0)


def _seal(entries: list[Entry], legs: list[Leg]) -> tuple[bytes, list[Chunk]]:
    chunks = list(chunks_from_entries(entry_digests(entries, legs), entries[0][0]))
    return period_digest(FACTS, None, entries[0][0], entries[-1][0], chunks), chunks


@settings(max_examples=40, deadline=None)
@given(journal=journals(), pick=st.integers(min_value=0), delta=st.integers(min_value=1, max_value=10**6))
def test_one_altered_leg_changes_the_seal_and_is_named(
        journal: tuple[list[Entry], list[Leg]], pick: int, delta: int) -> None:
    entries, legs = journal
    digest, stored = _seal(entries, legs)
    i = pick % len(legs)
    altered = list(legs)
    e, leg, acc, asset, amount = altered[i]
    altered[i] = (e, leg, acc, asset, amount + delta)
    digest2, found = _seal(entries, altered)
    assert digest2 != digest
    rows = list(entry_digests(entries, altered))
    first = entries[0][0]
    ids: dict[int, list[int]] = {}
    for entry_id, _, _ in rows:
        ids.setdefault((entry_id - first) // CHUNK_ENTRIES, []).append(entry_id)
    named = first_mismatch(stored, found, ids)
    assert named is not None and named.entry_id == e


@settings(max_examples=20, deadline=None)
@given(journal=journals())
def test_the_seal_chains_and_counts(journal: tuple[list[Entry], list[Leg]]) -> None:
    entries, legs = journal
    digest, chunks = _seal(entries, legs)
    assert sum(c.entries for c in chunks) == len(entries)
    assert sum(c.postings for c in chunks) == len(legs)
    assert all(len(c.fingerprints) == 8 * c.entries for c in chunks)
    other = period_digest(FACTS, digest, entries[0][0], entries[-1][0], chunks)
    assert other != period_digest(FACTS, None, entries[0][0], entries[-1][0], chunks)
    assert first_mismatch(chunks, chunks) is None


def test_leg_bytes_fixed_and_general_forms_agree() -> None:
    expected = (b"\x00\x00\x00\x01" + (2).to_bytes(8, "big") + b"\x00\x00\x00\x03CNY"
                + (-3).to_bytes(8, "big", signed=True))
    assert leg_bytes(1, 2, "CNY", -3) == expected
    assert leg_bytes(1, 2, "ABCD", 3)[12:20] == b"\x00\x00\x00\x04ABCD"
