"""Raising flags: many at once (a close's) files them exactly as raising them one by one would."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gongsheng.adapters import case_store
from gongsheng.adapters import tables as t
from gongsheng.domain.events import CaseOpened
from gongsheng.services.flags import Flag, raise_flags
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork

FLAGS = st.builds(
    lambda key, subject, parties, orders: Flag(
        "wash_trading", f"k{key}", f"s{subject}", 1, None, f"detail of k{key}",
        tuple(parties), tuple(orders)),
    st.integers(0, 5), st.integers(0, 2),
    st.lists(st.tuples(st.integers(1, 4), st.sampled_from(["merchant", "consumer"])), max_size=3),
    st.lists(st.integers(1, 6), max_size=3))


def _state(uow: UnitOfWork) -> dict[str, Any]:
    """Every case (by the order it was opened, ids left out: a sequence is not rolled back), its
    parties, orders and filed flags, the unfiled flags and the ``case.opened`` events recorded."""
    conn = uow.conn
    ids = [int(i) for i in conn.execute(select(t.cases.c.id).order_by(t.cases.c.id)).scalars()]
    rank = {case_id: n for n, case_id in enumerate(ids)}
    cases = [tuple(r) for r in conn.execute(
        select(t.cases.c.detector, t.cases.c.status, t.cases.c.summary, t.cases.c.open_key)
        .order_by(t.cases.c.id))]
    parties = sorted((rank[int(c)], int(p), r) for c, p, r in conn.execute(select(t.case_parties)))
    orders = sorted((rank[int(c)], int(o)) for c, o in conn.execute(select(t.case_orders)))
    flags = sorted((k, None if c is None else rank[int(c)]) for k, c in conn.execute(
        select(t.risk_flags.c.flag_key, t.risk_flags.c.case_id)))
    events = [(e.summary, e.party_ids, e.order_ids) for e in uow.events if isinstance(e, CaseOpened)]
    return {"cases": cases, "parties": parties, "orders": orders, "flags": flags, "events": events}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(FLAGS, max_size=6), st.sets(st.integers(0, 2)), st.lists(FLAGS, min_size=1, max_size=10))
def test_flags_raised_at_once_file_as_raised_one_by_one(
        platform: Platform, monkeypatch: pytest.MonkeyPatch, earlier: list[Flag], decided: set[int],
        flags: list[Flag]) -> None:
    """After some flags were raised and some of their cases decided, a list of flags (repeated
    keys, stored keys, subjects with a case, decided or not) raised at once leaves the cases,
    their parties and orders, the flags' filing and the ``case.opened`` events exactly as
    raising them one after another does (three rows to a statement here, so that the rows
    spill over into further statements)."""
    monkeypatch.setattr(case_store, "ROWS_PER_STATEMENT", 3)
    with UnitOfWork(platform.engine) as uow:
        for flag in earlier:
            raise_flags(uow, [flag])
        for subject in sorted(decided):
            case_id = case_store.undecided_case(uow.conn, f"s{subject}")
            if case_id is not None:
                case_store.set_status(uow.conn, case_id, "dismissed", actor="ops",
                                      decision="test", decided=True)
        uow.events = []
        found = {}
        for way in ("one by one", "at once"):
            with uow.conn.begin_nested() as savepoint:
                new = (sum(raise_flags(uow, [f]) for f in flags) if way == "one by one"
                       else raise_flags(uow, flags))
                found[way] = (new, _state(uow))
                savepoint.rollback()
            uow.events = []
    assert found["at once"] == found["one by one"]
    assert found["at once"][0] == len({f.flag_key for f in flags} - {f.flag_key for f in earlier})
