"""Where holdings and release groups are kept (``tables.holdings``, ``release_groups``, ``group_points``).

A group's points are striped (``group_points``, like balances), so that concurrent orders
adding to one group rarely meet on a row; reading them sums the stripes. Row locks
(``lock=True``) are PostgreSQL's ``FOR UPDATE``; SQLite has one writer and ignores them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, bindparam, exists, func, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import AddRows, Along, SetRow, upsert_add
from gongsheng.adapters.ledger_store import post
from gongsheng.domain.holdings import GroupRow, Holding, HoldingRow, unreleased
from gongsheng.domain.ledger import JournalEntry
from gongsheng.domain.release import GroupState

_rng = random.Random()
_h, _g, _gp = t.holdings, t.release_groups, t.group_points


@cache
def _holdings_query(started_by: bool, later_than: bool, lock: bool) -> Select[Any]:
    """The statement behind :meth:`SqlHoldingStore.holdings`, built once per shape (it is read
    on every touch)."""
    query = (
        select(_h.c.start_period, _h.c.multiple, _h.c.points_cpts, func.coalesce(_g.c.fraction, 0),
               _h.c.settled_fen)
        .select_from(_h.outerjoin(_g, (_g.c.start_period == _h.c.start_period)
                                  & (_g.c.multiple == _h.c.multiple)))
        .where(_h.c.holder_id == bindparam("holder")).order_by(_h.c.start_period, _h.c.multiple)
    )
    if started_by:
        query = query.where(_h.c.start_period <= bindparam("started_by"))
    if later_than:
        query = query.where(_h.c.start_period > bindparam("later_than"))
    return query.with_for_update(of=_h) if lock else query


@cache
def _to_settle_query() -> Select[Any]:
    """:meth:`SqlHoldingStore.to_settle`: the started holdings, locked, each row with whether
    the holder has an open freeze. The freeze is read as the statement's snapshot has it, from
    before any wait for the holdings' locks (a locked row is read as it is once granted). A
    freeze and every adjustment of the party (refund, exchange) take the party's advisory lock,
    so none commits during an adjustment's wait; a voucher order read the consumer's freeze when
    it began, and settling as of that read puts it before a freeze committed meanwhile, as a
    wallet read that settles beside a freeze always was."""
    frozen = exists().where(t.party_freezes.c.party_id == bindparam("holder"),
                            t.party_freezes.c.unfrozen_at.is_(None))
    return _holdings_query(True, False, True).add_columns(frozen)


def _group_totals(period: int | None) -> Any:
    """Points per group (summed stripes), of the groups starting by ``period`` (all: None)."""
    query = select(_gp.c.start_period, _gp.c.multiple, func.sum(_gp.c.points_cpts).label("pts"))
    if period is not None:
        query = query.where(_gp.c.start_period <= period)
    return query.group_by(_gp.c.start_period, _gp.c.multiple).subquery()


def _with_fractions(totals: Any) -> Select[Any]:
    return (select(totals.c.start_period, totals.c.multiple, totals.c.pts,
                   func.coalesce(_g.c.fraction, 0))
            .select_from(totals.outerjoin(_g, (_g.c.start_period == totals.c.start_period)
                                          & (_g.c.multiple == totals.c.multiple))))


class SqlHoldingStore:
    """:class:`~gongsheng.services.ports.holdings.HoldingStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def holdings(self, holder: int, *, started_by: int | None = None,
                 later_than: int | None = None, lock: bool = False) -> list[Holding]:
        query = _holdings_query(started_by is not None, later_than is not None, lock)
        rows = self.conn.execute(query, {"holder": holder, "started_by": started_by,
                                         "later_than": later_than}).all()
        return [Holding(int(s), Decimal(m), int(p), int(f), int(d)) for s, m, p, f, d in rows]

    def to_settle(self, holder: int, period: int) -> tuple[list[Holding], bool]:
        rows = self.conn.execute(_to_settle_query(), {"holder": holder, "started_by": period,
                                                      "later_than": None}).all()
        held = [Holding(int(s), Decimal(m), int(p), int(f), int(d)) for s, m, p, f, d, _ in rows]
        return held, bool(rows and rows[0][5])

    def holding(self, holder: int, start_period: int, multiple: Decimal, *,
                lock: bool = False) -> HoldingRow | None:
        query = select(_h.c.points_cpts, _h.c.settled_fen).where(
            _h.c.holder_id == holder, _h.c.start_period == start_period,
            _h.c.multiple == str(multiple))
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        return None if row is None else HoldingRow(int(row[0]), int(row[1]))

    def group(self, start_period: int, multiple: Decimal, *, lock: bool = False) -> GroupRow | None:
        # the row's own points, not its stripes summed: a locked row is read as it is once the
        # lock is granted, the rest of a statement as it stood when the statement began
        query = select(_g.c.fraction, _g.c.issued_fen, _g.c.points_cpts).where(
            _g.c.start_period == start_period, _g.c.multiple == str(multiple))
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        return None if row is None else GroupRow(int(row[0]), int(row[1]), int(row[2]))

    def groups_due(self, period: int) -> list[GroupState]:
        rows = self.conn.execute(_with_fractions(_group_totals(period))).all()
        return [GroupState(int(s), Decimal(m), int(p), int(f)) for s, m, p, f in rows]

    def unreleased_entitlement(self) -> int:
        rows = self.conn.execute(_with_fractions(_group_totals(None))).all()
        return sum(unreleased(Decimal(m), int(p), int(f)) for _, m, p, f in rows)

    def settle(self, holder: int, period: int, entry: JournalEntry,
               due: Mapping[tuple[int, Decimal], int]) -> None:
        # the checkpoints join the entry's one statement on PostgreSQL
        checkpoints = AddRows(t.holdings, ("holder_id", "start_period", "multiple"),
                              ("points_cpts", "settled_fen"),
                              tuple((holder, start, str(m), 0, d) for (start, m), d in due.items()))
        post(self.conn, entry, period, holder, along=[checkpoints])

    def take_points(self, holder: int, start_period: int, multiple: Decimal, taken_cpts: int,
                    settled_fen: int, *, period: int, entry: JournalEntry | None,
                    reissue: tuple[int, int] | None = None) -> None:
        m = str(multiple)
        writes: list[Along] = [
            SetRow(_h, (("holder_id", holder), ("start_period", start_period), ("multiple", m)),
                   adds=(("points_cpts", -taken_cpts),), sets=(("settled_fen", settled_fen),)),
            AddRows(t.group_points, ("start_period", "multiple", "stripe"), ("points_cpts",),
                    ((start_period, m, _rng.randrange(t.STRIPES), -taken_cpts),))]
        if reissue is not None:
            issued, points = reissue
            writes.append(SetRow(_g, (("start_period", start_period), ("multiple", m)),
                                 sets=(("issued_fen", issued), ("points_cpts", points))))
        if entry is None:
            for write in writes:
                write.write(self.conn)
        else:  # on PostgreSQL one statement with the entry
            post(self.conn, entry, period, holder, along=writes)

    def advance(self, group: GroupState, fraction: int) -> None:
        m = str(group.multiple)
        issued = self.conn.execute(select(_g.c.issued_fen).where(
            _g.c.start_period == group.start_period, _g.c.multiple == m)).scalar()
        after = GroupState(group.start_period, group.multiple, group.points_cpts, fraction)
        upsert_add(self.conn, t.release_groups, ("start_period", "multiple"),
                   ("fraction", "issued_fen"),
                   [(group.start_period, m, fraction - group.fraction,
                     after.released() - int(issued or 0))])
        self.conn.execute(update(_g).where(_g.c.start_period == group.start_period,
                                           _g.c.multiple == m).values(points_cpts=group.points_cpts))
