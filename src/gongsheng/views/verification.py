"""``verify``: every invariant of the stored books, checked from the tables themselves.

Unlike every other use case, verification reads history (all postings, all holdings): it is the
auditor's check, not a request path. Each check returns a :class:`Check`; the books are sound
only if all hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select

from gongsheng.adapters import seal_store
from gongsheng.adapters import tables as t
from gongsheng.adapters.earnings_store import earnings_disagreeing
from gongsheng.adapters.ledger_store import journal_balances, system_balance, trial_balance
from gongsheng.adapters.policy_store import current_policy
from gongsheng.adapters.totals_store import totals_disagreeing
from gongsheng.domain.ledger import AccountKind, account_name, describe_account, unbalanced_assets
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
    off = unbalanced_assets(trial_balance(conn))
    return Check("every asset sums to zero", not off, f"off: {off}" if off else "CNY, PTS, VCH")


def _balances_match_journal(conn: Connection) -> Check:
    kept, journal = trial_balance(conn), journal_balances(conn)
    diff = {k: (kept.get(k, 0), journal.get(k, 0)) for k in set(kept) | set(journal)
            if kept.get(k, 0) != journal.get(k, 0)}
    first = next(iter(sorted(diff)), None)
    detail = (f"{len(diff)} accounts differ, e.g. {account_name(first[0])} {first[1]}: "
              f"balance {diff[first][0]} vs journal {diff[first][1]}") if first else \
        f"{len(kept)} account balances agree with the journal"
    return Check("balances agree with the journal", not diff, detail)


def _entries_balanced(conn: Connection, after: int = 0) -> Check:
    """Entries with ids above ``after`` (all of them by default)."""
    p, e = t.postings, t.journal_entries
    off = conn.execute(
        select(p.c.entry_id).where(p.c.entry_id > after)
        .group_by(p.c.entry_id, p.c.asset).having(func.sum(p.c.amount) != 0).limit(1)).scalar()
    legs = (select(p.c.entry_id, func.count().label("n")).where(p.c.entry_id > after)
            .group_by(p.c.entry_id).subquery())
    short = conn.execute(select(e.c.id).select_from(e.outerjoin(legs, legs.c.entry_id == e.c.id))
                         .where(e.c.id > after, func.coalesce(legs.c.n, 0) != e.c.leg_count)
                         .limit(1)).scalar()
    ok = off is None and short is None
    return Check("every journal entry balances per asset and is complete", ok,
                 "all entries balance" if ok else f"entry {off or short} does not")


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
    agree (and a started group's row holds them)."""
    h, g, gp = t.holdings, t.release_groups, t.group_points
    rows = conn.execute(select(g.c.start_period, g.c.multiple, g.c.fraction, g.c.issued_fen,
                               g.c.points_cpts)).all()
    groups = {(int(s), m): (int(f), int(i)) for s, m, f, i, _ in rows}
    row_points = {(int(s), m): int(p) for s, m, f, _, p in rows if int(f) > 0}
    points = {(int(s), m): int(p) for s, m, p in conn.execute(
        select(gp.c.start_period, gp.c.multiple, func.sum(gp.c.points_cpts))
        .group_by(gp.c.start_period, gp.c.multiple)).all()}
    owed: dict[tuple[int, str], int] = defaultdict(int)
    holders: dict[tuple[int, str], int] = defaultdict(int)
    held_points: dict[tuple[int, str], int] = defaultdict(int)
    settled_total = 0
    for s, m, p, settled in conn.execute(select(h.c.start_period, h.c.multiple, h.c.points_cpts,
                                                h.c.settled_fen)).all():
        key = (int(s), m)
        num, den = ratio(Decimal(m))
        fraction = groups.get(key, (0, 0))[0]
        due = int(released_to_date(int(p), num, den, fraction))
        if int(settled) > due:
            return Check("release index agrees with holders", False,
                         f"a holding of group {key} settled {settled} > released {due}")
        owed[key] += due
        holders[key] += 1
        held_points[key] += int(p)
        settled_total += int(settled)
    for key, pts in points.items():
        if held_points.get(key, 0) != pts:
            return Check("release index agrees with holders", False,
                         f"group {key} totals {pts} points, holdings {held_points.get(key, 0)}")
        if row_points.get(key, pts) != pts:
            return Check("release index agrees with holders", False,
                         f"started group {key} records {row_points[key]} points, holds {pts}")
        fraction, issued = groups.get(key, (0, 0))
        num, den = ratio(Decimal(key[1]))
        if issued != int(released_to_date(pts, num, den, fraction)):
            return Check("release index agrees with holders", False,
                         f"group {key} issued {issued} != floor(cap x fraction)")
        if not 0 <= issued - owed[key] <= max(holders[key] - 1, 0):
            return Check("release index agrees with holders", False,
                         f"group {key} remainder {issued - owed[key]} outside [0, holders)")
    unsettled = system_balance(conn, AccountKind.VOUCHERS_UNSETTLED)
    issued_total = sum(i for _, i in groups.values())
    ok = unsettled == issued_total - settled_total
    return Check("release index agrees with holders", ok,
                 f"released-unsettled {unsettled} fen = issued {issued_total} - settled "
                 f"{settled_total}" if ok else f"released-unsettled {unsettled} fen != issued "
                 f"{issued_total} - settled {settled_total}")


def _orders_reference_known_rows(conn: Connection) -> Check:
    """Orders carry no foreign keys (``tables.py``): each must name a known consumer, merchant
    and policy version."""
    o, c, m, pv = t.orders, t.consumers, t.merchants, t.policy_versions
    orphan = conn.execute(
        select(o.c.id).select_from(
            o.outerjoin(c, c.c.party_id == o.c.consumer_id)
            .outerjoin(m, m.c.party_id == o.c.merchant_id)
            .outerjoin(pv, pv.c.id == o.c.policy_version_id))
        .where(c.c.party_id.is_(None) | m.c.party_id.is_(None) | pv.c.id.is_(None))
        .limit(1)).scalar()
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
HISTORY_CHECKS = (_balances_match_journal, _party_totals_match, _earnings_match)
"""Checks that compare kept rows with the whole history: left out of an incremental run."""


def verify_books(conn: Connection, *, incremental: bool = False,
                 progress: seals.Progress | None = None) -> list[Check]:
    """Run every check; the books are sound iff all are ``ok``.

    ``incremental`` checks only what changed since the last sealed period: the seals' chain
    (not recomputed), the entries written since, and every check that reads balance rows rather
    than history; it leaves out :data:`HISTORY_CHECKS` (every balance, total and earning
    compared with the whole journal)."""
    after = 0
    if incremental:
        last = seal_store.last_seal(conn)
        after = 0 if last is None else last.last_id
    found = []
    for check in CHECKS:
        if check is _seals_match:
            found.append(_seals_match(conn, incremental, progress or _no_progress))
        elif check is _entries_balanced:
            found.append(_entries_balanced(conn, after))
        elif not (incremental and check in HISTORY_CHECKS):
            found.append(check(conn))
    return found


def verify(platform: Platform, *, incremental: bool = False,
           progress: seals.Progress | None = None) -> list[Check]:
    """:func:`verify_books` on ``platform``'s books, in one read-only transaction."""
    return platform.read(lambda conn: verify_books(conn, incremental=incremental,
                                                   progress=progress))
