"""Importing an existing platform's orders (``gongsheng import orders``), and its parties' ids.

Each row of the file becomes one order placed exactly as a live one: the rows of a chunk go
through :func:`batch.place_orders` (the whole waterfall, points, holdings, first-order referral,
counters), one transaction per chunk. Invariants:

- **Idempotent per order**: a row's idempotency key is ``import:<external_order_id>``, so a
  re-run (or a run resumed after a crash) replays what is in and posts nothing twice; the same
  external order id with other content is a conflict, reported as a bad row.
- **A bad row posts nothing**: every row is validated strictly first (the file's own types:
  integer amounts, no floats; identifiers of visible ASCII; parties known by external id and of
  the right kind; the period, when given, the open one). A row refused here or by the order path
  (inactive merchant, conflict) is reported with its line and reason, and nothing of it is
  written; the good rows go in. The caller exits non-zero when any row was bad.
- **Memory does not grow with the file**: rows are read, placed and forgotten a chunk at a time;
  bad rows are handed to a callback, not collected.
- **A part of the file, or all of it**: ``part=(j, n)`` imports only the rows whose consumer's
  external id falls in part ``j`` of ``n`` (:func:`row_part`, a stable hash), so that ``n``
  processes importing parts ``0 .. n-1`` of one file import each row exactly once, and each
  consumer's orders in file order, in one process: its first order (the referral's) and its
  velocity counts are those of a one-process import. So is every order's waterfall, which
  depends on no other consumer's orders (rings of shared payment refs are found at the close,
  from the period's orders); only the order in which different consumers' orders are placed,
  and so their ids, may differ. Two exceptions: an external order id given to rows of two
  consumers is imported from whichever part commits it first (the other row is the bad one),
  where one process keeps the file's first; and while the open period's policy caps velocity
  (whose orders are placed one by one, each locking its merchant's rows in its own order),
  parts would deadlock each other, so :func:`check_parts_allowed` refuses them.

Parties are named by their id on the old platform, ``parties.external_id`` (unique), linked to
parties registered here by :func:`link_parties` (``gongsheng import parties``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gongsheng.adapters.order_file import Row, columns, read_rows
from gongsheng.domain.errors import GongshengError, InvalidInput
from gongsheng.services.batch import place_orders
from gongsheng.services.ordering import OrderRequest, OrderResult, check_identifier
from gongsheng.services.ports.work import Stores, Work
from gongsheng.services.unit_of_work import UnitOfWork

KEY_PREFIX = "import:"
REQUIRED = ("external_order_id", "merchant_external_id", "consumer_external_id", "amount_fen")
OPTIONAL = ("payment_ref", "device_id", "period", "paid_at")
"""``paid_at`` is accepted and kept in the file only: an order posts in the open period."""
CHUNK_ROWS = 2_000
_INTEGER = re.compile(r"-?[0-9]{1,19}")


@dataclass(frozen=True)
class BadRow:
    """A row that was not imported: where it is in the file and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did: rows read, orders placed, rows already imported, bad rows."""

    rows: int = 0
    placed: int = 0
    replayed: int = 0
    bad: int = 0

    def add(self, other: ImportReport) -> None:
        """Count ``other``'s rows too (the parts of one file: each row in one of them)."""
        self.rows += other.rows
        self.placed += other.placed
        self.replayed += other.replayed
        self.bad += other.bad


def import_key(external_order_id: str) -> str:
    """The idempotency key of an imported order."""
    return KEY_PREFIX + external_order_id


def check_columns(names: Sequence[str]) -> None:
    """Refuse a file that lacks a required column or has one this import does not know."""
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InvalidInput(f"the file lacks the column(s) {', '.join(missing)} "
                           f"(required: {', '.join(REQUIRED)})")
    unknown = [c for c in names if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise InvalidInput(f"unknown column(s) {', '.join(unknown)} "
                           f"(known: {', '.join(REQUIRED + OPTIONAL)})")


def row_part(fields: Mapping[str, Any], parts: int) -> int:
    """The part (``0 .. parts-1``) a row belongs to: a stable hash of its consumer's external id
    (every row has one part, a row without that id too), the same in every process."""
    consumer = fields.get("consumer_external_id")
    digest = hashlib.blake2b(str(consumer if consumer is not None else "").encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") % parts


def check_parts_allowed(stores: Stores) -> None:
    """Refuse an import in more than one part while the open period's policy caps velocity
    (see the module's docstring); a one-part import is always allowed."""
    policy = stores.policies.version(stores.periods.open_period().policy_version_id)
    if policy.risk.caps_velocity:
        raise InvalidInput("the open period's policy caps orders per consumer ([risk] "
                           "max_orders_per_period or max_pair_orders_per_period): import in one "
                           "process (--jobs 1), whose capped orders do not wait for each other")


def _part_chunks(path: Path, chunk_rows: int, part: tuple[int, int]) -> Iterator[list[Row]]:
    """The file's rows of ``part``, in chunks of ``chunk_rows`` (the last one shorter)."""
    j, n = part
    if n == 1:
        yield from read_rows(path, chunk_rows)
        return
    pending: list[Row] = []
    for chunk in read_rows(path, chunk_rows):
        pending += [row for row in chunk if row_part(row[1], n) == j]
        while len(pending) >= chunk_rows:
            yield pending[:chunk_rows]
            pending = pending[chunk_rows:]
    if pending:
        yield pending


def import_orders(run: Callable[..., Any], path: Path, *, chunk_rows: int = CHUNK_ROWS,
                  on_bad: Callable[[BadRow], None] = lambda bad: None,
                  progress: Callable[[int], None] = lambda rows: None,
                  part: tuple[int, int] = (0, 1)) -> ImportReport:
    """Import the orders of ``path`` (those of ``part``: see the module's docstring); ``run``
    is :meth:`Platform.run` (one commit per chunk).

    ``on_bad`` gets each bad row as it is found, ``progress`` the number of rows of each chunk
    once it is committed.
    """
    j, n = part
    if not 0 <= j < n:
        raise InvalidInput(f"part {j} of {n} does not exist (parts are numbered 0 to n-1)")
    check_columns(columns(path))
    if n > 1:
        run(check_parts_allowed)
    report = ImportReport()
    for chunk in _part_chunks(path, chunk_rows, part):
        outcomes: list[BadRow | OrderResult] = run(import_chunk, chunk)
        for outcome in outcomes:
            if isinstance(outcome, BadRow):
                report.bad += 1
                on_bad(outcome)
            elif outcome.replayed:
                report.replayed += 1
            else:
                report.placed += 1
        report.rows += len(chunk)
        progress(len(chunk))
    return report


def import_chunk(uow: UnitOfWork, chunk: Sequence[Row]) -> list[BadRow | OrderResult]:
    """Place a chunk's good rows through the batch path; one outcome per row, in file order."""
    period = uow.periods.open_period().seq
    parties = _parties(uow, chunk)
    out: list[BadRow | OrderResult | None] = [None] * len(chunk)
    requests: list[OrderRequest] = []
    placed_at: list[int] = []
    for i, (line, fields) in enumerate(chunk):
        try:
            req = order_request(fields, parties, period)
        except GongshengError as err:
            out[i] = BadRow(line, err.detail)
            continue
        requests.append(req)
        placed_at.append(i)
    for i, outcome in zip(placed_at, place_orders(uow, requests), strict=True):
        out[i] = BadRow(chunk[i][0], outcome.detail) if isinstance(outcome, GongshengError) \
            else outcome
    return [o for o in out if o is not None]


def order_request(fields: Mapping[str, Any], parties: Mapping[str, tuple[int, str]],
                  period: int) -> OrderRequest:
    """The order a row stands for, or :class:`InvalidInput` saying what is wrong with it."""
    if "__width__" in fields:
        raise InvalidInput(f"the row has {fields['__width__']} fields, the header "
                           f"{len(fields) - 1}")
    order_id = _text(fields, "external_order_id")
    assert order_id is not None
    merchant = _party(fields, "merchant_external_id", "merchant", parties)
    consumer = _party(fields, "consumer_external_id", "consumer", parties)
    amount = _integer(fields, "amount_fen")
    if amount is None:
        raise InvalidInput("amount_fen is required")
    given_period = _integer(fields, "period")
    if given_period is not None and given_period != period:
        raise InvalidInput(f"period {given_period} is not the open period {period} (import a "
                           "period's orders while it is open, then close it)")
    req = OrderRequest(consumer, merchant, amount, 0, import_key(order_id),
                       payment_ref=_text(fields, "payment_ref", required=False),
                       device_id=_text(fields, "device_id", required=False))
    req.validate()
    return req


def _text(fields: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{name} is required")
        return None
    check_identifier(name, value)
    return str(value)


def _integer(fields: Mapping[str, Any], name: str) -> int | None:
    """A column's integer: an int (Parquet) or a string of digits (CSV); never a float or bool."""
    value = fields.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    raise InvalidInput(f"{name} must be an integer (fen, no decimal point), not {value!r}")


def _party(fields: Mapping[str, Any], name: str, kind: str,
           parties: Mapping[str, tuple[int, str]]) -> int:
    external = _text(fields, name)
    assert external is not None
    found = parties.get(external)
    if found is None or found[1] != kind:
        raise InvalidInput(f"unknown {kind} {external!r} ({name})")
    return found[0]


def _parties(stores: Stores, chunk: Iterable[Row]) -> dict[str, tuple[int, str]]:
    """The parties the chunk names: external id -> (party id, kind); one query."""
    wanted = {str(fields[name]) for _, fields in chunk
              for name in ("merchant_external_id", "consumer_external_id")
              if isinstance(fields.get(name), str) and fields[name]}
    return stores.external_ids.parties_named(wanted)


def link_parties(uow: Work, pairs: Sequence[tuple[str, int]]) -> int:
    """Give parties their external ids; the number newly linked. Idempotent: a pair already
    linked is left as it is; an external id linked to another party, or a party linked to
    another external id, is a conflict (:class:`InvalidInput`) and nothing is linked."""
    for external, _ in pairs:
        check_identifier("external_id", external)
    wanted = dict(pairs)
    if len(wanted) != len(pairs) or len(set(wanted.values())) != len(pairs):
        raise InvalidInput("each external id and each party may appear only once")
    current = uow.external_ids.links(wanted.values(), wanted)
    missing = sorted(set(wanted.values()) - set(current))
    if missing:
        raise InvalidInput(f"no party {missing[0]}")
    linked = 0
    holders = {ext: pid for pid, ext in current.items() if ext is not None}
    for external, party in pairs:
        if current[party] == external:
            continue
        if current[party] is not None or external in holders:
            raise InvalidInput(f"external id {external!r} or party {party} is already linked "
                               "otherwise")
        uow.external_ids.link(party, external)
        linked += 1
    return linked
