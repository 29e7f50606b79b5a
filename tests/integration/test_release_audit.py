"""The release index as ``verify`` sums it where the holdings are stored: exact on both databases."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from gongsheng.adapters import tables as t
from gongsheng.adapters.release_audit import GroupHolders, group_holders
from gongsheng.domain.money import ratio
from gongsheng.domain.release import SCALE
from gongsheng.services.platform import Platform

MULTIPLES = ("1.5", "2", "3", "2.75")
holding = st.tuples(st.integers(1, 4), st.sampled_from(MULTIPLES),
                    st.integers(0, 10**13), st.integers(0, 10**12))
"""(start period, multiple, points up to 10^11 points, settled): products far above 2^63."""


def _expected(rows: list[tuple[int, int, str, int, int]],
              fractions: dict[tuple[int, str], int]) -> dict[tuple[int, str], GroupHolders]:
    sums: dict[tuple[int, str], list[int]] = {}
    for _, start, multiple, points, settled in rows:
        key = (start, multiple)
        released = Fraction(points) * Fraction(multiple) * Fraction(fractions.get(key, 0), SCALE)
        due = released.numerator // released.denominator
        acc = sums.setdefault(key, [0, 0, 0, 0, 0])
        for i, v in enumerate((1, points, due, settled, int(settled > due))):
            acc[i] += v
    return {k: GroupHolders(*v) for k, v in sums.items()}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(holdings=st.lists(holding, min_size=0, max_size=30),
       fractions=st.dictionaries(st.tuples(st.integers(1, 4), st.sampled_from(MULTIPLES)),
                                 st.one_of(st.integers(0, SCALE), st.integers(SCALE - 10**6, SCALE)),
                                 max_size=8))
@example(holdings=[(1, "2", 10**13, 0)], fractions={(1, "2"): SCALE - 1})  # just below a whole
def test_group_sums_are_exact(platform: Platform, holdings: list[tuple[int, str, int, int]],
                              fractions: dict[tuple[int, str], int]) -> None:
    rows = [(holder, start, multiple, points, settled)
            for holder, (start, multiple, points, settled) in enumerate(holdings, start=1)]
    rates = {key: (*ratio(Decimal(key[1])), f) for key, f in fractions.items()}
    with platform.engine.begin() as conn:
        conn.execute(delete(t.holdings))
        if rows:
            conn.execute(insert(t.holdings), [
                {"holder_id": h, "start_period": s, "multiple": m, "points_cpts": p,
                 "settled_fen": d} for h, s, m, p, d in rows])
        found = group_holders(conn, rates)
        conn.rollback()
    assert found == _expected(rows, fractions)
