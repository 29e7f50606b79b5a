"""``verify``: every invariant of the stored books, checked from the tables themselves.

Unlike every other use case, verification reads history (all postings, all holdings): it is the
auditor's check, not a request path. Each check returns a :class:`Check`; the books are sound
only if all hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, or_, select, union_all

from gongsheng.adapters import seal_store
from gongsheng.adapters import tables as t
from gongsheng.adapters.earnings_store import earnings_disagreeing
from gongsheng.adapters.ledger_store import asset_totals, balances_disagreeing, system_balance
from gongsheng.adapters.policy_store import current_policy
from gongsheng.adapters.release_audit import GroupHolders, group_holders
from gongsheng.adapters.snapshots import SnapshotReaders
from gongsheng.adapters.totals_store import totals_disagreeing
from gongsheng.domain.ledger import (
    AccountKind,
    Asset,
    EntryKind,
    account_name,
    describe_account,
    off_assets,
)
from gongsheng.domain.money import ratio
from gongsheng.domain.release import released_to_date
from gongsheng.services import seals
from gongsheng.services.unit_of_work import stores_on

if TYPE_CHECKING:
    from gongsheng.services.platform import Platform


def _no_progress(_: int) -> None:
    return None


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _assets_sum_to_zero(conn: Connection) -> Check:
    off = off_assets(asset_totals(conn))
    return Check("every asset sums to zero", not off, f"off: {off}" if off else "CNY, PTS, VCH")


def _balances_match_journal(conn: Connection) -> Check:
    off = balances_disagreeing(conn)
    detail = (f"{len(off)} accounts differ, e.g. {account_name(off[0][0])} {off[0][1]}: "
              f"balance {off[0][2]} vs journal {off[0][3]}") if off else \
        "every account balance agrees with the journal"
    return Check("balances agree with the journal", not off, detail)


def _entries_balanced(conn: Connection, after: int = 0) -> Check:
    """Entries with ids above ``after`` (all of them by default): one pass over their legs in
    key order, summing each asset apart (a leg of any other asset is flagged too); an entry
    whose legs are not all there, and legs whose entry row is gone, are named as well."""
    p, e = t.postings, t.journal_entries
    assets = [a.value for a in Asset]
    legs = (select(p.c.entry_id, func.count().label("n"),
                   func.count().filter(p.c.asset.not_in(assets)).label("other"),
                   *(func.sum(p.c.amount).filter(p.c.asset == a).label(f"sum_{a}") for a in assets))
            .where(p.c.entry_id > after).group_by(p.c.entry_id).cte("legs"))
    rows = select(e.c.id, e.c.leg_count).where(e.c.id > after).cte("entry_rows")
    wrong = (select(rows.c.id.label("id"))
             .select_from(rows.outerjoin(legs, legs.c.entry_id == rows.c.id))
             .where(or_(func.coalesce(legs.c.n, 0) != rows.c.leg_count, legs.c.other > 0,
                        *(legs.c[f"sum_{a}"] != 0 for a in assets))))
    orphans = (select(legs.c.entry_id.label("id"))
               .select_from(legs.outerjoin(rows, rows.c.id == legs.c.entry_id))
               .where(rows.c.id.is_(None)))
    found = union_all(wrong, orphans).subquery()
    off = conn.execute(select(func.min(found.c.id))).scalar()
    return Check("every journal entry balances per asset and is complete", off is None,
                 "all entries balance" if off is None else f"entry {off} does not")


def _nonnegative(conn: Connection) -> Check:
    b = t.balances
    rows = conn.execute(select(b.c.account_id, func.sum(b.c.amount)).group_by(b.c.account_id)
                        .having(func.sum(b.c.amount) < 0)).all()
    bad = [(a, v) for a, v in rows if describe_account(int(a))[1].nonnegative]
    return Check("no points or voucher balance is negative", not bad,
                 f"{account_name(int(bad[0][0]))} is {bad[0][1]}" if bad else "none negative")


def _reserve_mirrors_vouchers(conn: Connection) -> Check:
    reserve = system_balance(conn, AccountKind.POOL_RESERVED)
    outstanding = -(system_balance(conn, AccountKind.VOUCHERS_ISSUED)
                    + system_balance(conn, AccountKind.VOUCHERS_REDEEMED))
    return Check("the pool's reserve equals the vouchers outstanding", reserve == outstanding,
                 f"reserve {reserve} fen, outstanding vouchers {outstanding} fen")


def _pool_not_negative(conn: Connection) -> Check:
    forced = conn.execute(select(func.count()).select_from(t.periods)
                          .where(t.periods.c.unfunded_fen > 0)).scalar_one()
    available = system_balance(conn, AccountKind.POOL_AVAILABLE)
    ok = available >= 0 or forced > 0
    return Check("the pool is never negative (unless a promise release was forced)", ok,
                 f"available {available} fen; {forced} periods released unfunded")


def _release_index(conn: Connection) -> Check:
    """Groups: issued == floor(V_g F_g); holders owed <= issued; remainder < holders; points
    agree (and a started group's row holds them). The holdings are summed per group where they
    are stored (:mod:`gongsheng.adapters.release_audit`)."""
    g, gp = t.release_groups, t.group_points
    rows = conn.execute(select(g.c.start_period, g.c.multiple, g.c.fraction, g.c.issued_fen,
                               g.c.points_cpts)).all()
    groups = {(int(s), m): (int(f), int(i)) for s, m, f, i, _ in rows}
    row_points = {(int(s), m): int(p) for s, m, f, _, p in rows if int(f) > 0}
    points = {(int(s), m): int(p) for s, m, p in conn.execute(
        select(gp.c.start_period, gp.c.multiple, func.sum(gp.c.points_cpts))
        .group_by(gp.c.start_period, gp.c.multiple)).all()}
    held = group_holders(conn, {key: (*ratio(Decimal(key[1])), fraction)
                                for key, (fraction, _) in groups.items()})
    none = GroupHolders(0, 0, 0, 0, 0)
    for key, found in sorted(held.items()):
        if found.over_settled:
            return Check("release index agrees with holders", False,
                         f"{found.over_settled} holdings of group {key} settled more than "
                         f"they were released")
    for key, pts in points.items():
        found = held.get(key, none)
        if found.points_cpts != pts:
            return Check("release index agrees with holders", False,
                         f"group {key} totals {pts} points, holdings {found.points_cpts}")
        if row_points.get(key, pts) != pts:
            return Check("release index agrees with holders", False,
                         f"started group {key} records {row_points[key]} points, holds {pts}")
        fraction, issued = groups.get(key, (0, 0))
        num, den = ratio(Decimal(key[1]))
        if issued != int(released_to_date(pts, num, den, fraction)):
            return Check("release index agrees with holders", False,
                         f"group {key} issued {issued} != floor(cap x fraction)")
        if not 0 <= issued - found.owed_fen <= max(found.holders - 1, 0):
            return Check("release index agrees with holders", False,
                         f"group {key} remainder {issued - found.owed_fen} outside [0, holders)")
    unsettled = system_balance(conn, AccountKind.VOUCHERS_UNSETTLED)
    issued_total = sum(i for _, i in groups.values())
    settled_total = sum(found.settled_fen for found in held.values())
    ok = unsettled == issued_total - settled_total
    return Check("release index agrees with holders", ok,
                 f"released-unsettled {unsettled} fen = issued {issued_total} - settled "
                 f"{settled_total}" if ok else f"released-unsettled {unsettled} fen != issued "
                 f"{issued_total} - settled {settled_total}")


def _orders_reference_known_rows(conn: Connection, after: int = 0) -> Check:
    """Orders carry no foreign keys (``tables.py``): each must name a known consumer, merchant
    and policy version. With ``after`` (the last sealed entry id), only the orders written since:
    those above the highest order id a sealed entry posts, and those the entries above ``after``
    post (an order and its entry are written in one transaction, and a close holds the books
    alone, so every order of a sealed period has a sealed entry)."""
    o, c, m, pv, e = t.orders, t.consumers, t.merchants, t.policy_versions, t.journal_entries
    query = (select(o.c.id).select_from(
        o.outerjoin(c, c.c.party_id == o.c.consumer_id)
        .outerjoin(m, m.c.party_id == o.c.merchant_id)
        .outerjoin(pv, pv.c.id == o.c.policy_version_id))
        .where(c.c.party_id.is_(None) | m.c.party_id.is_(None) | pv.c.id.is_(None)).limit(1))
    if after:
        orders = e.c.kind == EntryKind.ORDER.value
        # the (kind, ref_id) index backwards, passing over the order entries since the seal only
        sealed = conn.execute(select(func.max(e.c.ref_id)).where(orders, e.c.id <= after)).scalar()
        # ``+ 0``: not the lowest ref_id by the (kind, ref_id) index, which would pass over
        # every sealed order entry first, but from the key range of the entries since the seal
        since = conn.execute(select(func.min(e.c.ref_id + 0)).where(orders, e.c.id > after)
                             ).scalar()
        starts = [int(x) for x in (since, None if sealed is None else int(sealed) + 1)
                  if x is not None]
        if starts:
            query = query.where(o.c.id >= min(starts))
    orphan = conn.execute(query).scalar()
    return Check("every order names a known consumer, merchant and policy version",
                 orphan is None, "all do" if orphan is None else f"order {orphan} does not")


def _contracts_feasible(conn: Connection) -> Check:
    """Every merchant's rate and BM contract passes the current policy's rounding criterion, so
    no order can raise (:mod:`gongsheng.domain.feasibility`): O(distinct rate pairs)."""
    _, policy = current_policy(conn)
    m = t.merchants
    pairs = conn.execute(select(m.c.concession_rate, m.c.bm_rate).where(m.c.active)
                         .distinct()).all()
    bad = next(((rate, bm) for rate, bm in pairs
                if not policy.feasible(Decimal(rate), None if bm is None else Decimal(bm))), None)
    return Check("every merchant's rates keep the rounded parts within the concession",
                 bad is None, f"{len(pairs)} rate pairs, all feasible" if bad is None else
                 f"concession rate {bad[0]} with contract rate {bad[1]} can overpay")


def _party_totals_match(conn: Connection) -> Check:
    off = totals_disagreeing(conn)
    detail = (f"{len(off)} totals differ, e.g. party {off[0][0]} period {off[0][1]} {off[0][2]}: "
              f"kept {off[0][3]} vs history {off[0][4]}") if off else \
        "every per-(party, period) total equals its postings and orders"
    return Check("per-(party, period) totals agree with the history", not off, detail)


def _earnings_match(conn: Connection) -> Check:
    off = earnings_disagreeing(conn)
    detail = (f"{len(off)} earnings differ, e.g. party {off[0][0]} period {off[0][1]}: "
              f"kept {off[0][2]} vs journal {off[0][3]}") if off else \
        "every party's held-cash earnings equal the cash its orders and refunds posted"
    return Check("earnings (holds) agree with the journal", not off, detail)


def _seals_match(conn: Connection, incremental: bool = False,
                 progress: seals.Progress = _no_progress) -> Check:
    """Every closed period's seal recomputed from its journal (``services/seals.py``)."""
    report = seals.verify_seals(stores_on(conn), incremental=incremental, progress=progress)
    return Check("every closed period matches its seal", report.ok, report.detail)


CHECKS: tuple[Callable[[Connection], Check], ...] = (
    _seals_match, _assets_sum_to_zero, _entries_balanced, _balances_match_journal, _nonnegative,
    _orders_reference_known_rows,
    _reserve_mirrors_vouchers, _pool_not_negative, _release_index, _contracts_feasible,
    _party_totals_match, _earnings_match,
)
SINCE_CHECKS = (_entries_balanced, _orders_reference_known_rows)
"""Checks that take ``after``: in an incremental run, only what entries above it wrote."""
HISTORY_CHECKS = (_balances_match_journal, _party_totals_match, _earnings_match)
"""Checks that compare kept rows with the whole history: left out of an incremental run."""


CHECK_WORKERS = seal_store.SCAN_WORKERS
"""Connections the checks other than the seals' run on at once (PostgreSQL), beside the seal
check's own scan."""


def verify_books(conn: Connection, *, incremental: bool = False,
                 progress: seals.Progress | None = None) -> list[Check]:
    """Run every check; the books are sound iff all are ``ok``.

    ``incremental`` checks only what changed since the last sealed period: the seals' chain
    (not recomputed), the entries written since and the orders they post
    (:data:`SINCE_CHECKS`), and every check that reads balance rows, holdings or groups rather
    than history; it leaves out :data:`HISTORY_CHECKS` (every balance, total and earning
    compared with the whole journal).

    Every check reads ``conn``'s snapshot: on PostgreSQL the checks other than the seals' run on
    :data:`CHECK_WORKERS` connections sharing it (:class:`SnapshotReaders`) while the seal check
    scans on ``conn``, so ``conn`` should read one snapshot
    (:func:`~gongsheng.adapters.database.one_snapshot`) for the checks to agree while orders
    commit."""
    after = 0
    if incremental:
        last = seal_store.last_seal(conn)
        after = 0 if last is None else last.last_id
    chosen = [c for c in CHECKS if not (incremental and c in HISTORY_CHECKS)]
    with SnapshotReaders(conn, CHECK_WORKERS) as readers:
        sealed = None
        if not readers.parallel:  # one connection: the seals' scan (and its progress) first
            sealed = _seals_match(conn, incremental, progress or _no_progress)
        pending = {c: readers.submit(partial(c, after=after) if c in SINCE_CHECKS else c)
                   for c in chosen if c is not _seals_match}
        if sealed is None:
            sealed = _seals_match(conn, incremental, progress or _no_progress)
        return [sealed if c is _seals_match else pending[c].result() for c in chosen]


def verify(platform: Platform, *, incremental: bool = False,
           progress: seals.Progress | None = None) -> list[Check]:
    """:func:`verify_books` on ``platform``'s books, in one read-only transaction that reads one
    snapshot (orders may commit meanwhile: none of them is seen)."""
    return platform.read(lambda conn: verify_books(conn, incremental=incremental,
                                                   progress=progress), snapshot=True)
