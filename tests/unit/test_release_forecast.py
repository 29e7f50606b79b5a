"""The ``forecast`` controller in the domain: the look-ahead rate and the one ``choose_rate``."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from gongsheng.adapters.policy_file import load_policy
from gongsheng.domain.policy import Controller, policy_from_mapping
from gongsheng.domain.release import (
    LOOKAHEAD_TOLERANCE,
    SCALE,
    GroupState,
    Outlook,
    advance,
    affordable_rate,
    choose_rate,
    lookahead_rate,
    nominal_rate,
    projected_outlook,
    release_at,
    sustainable,
)


def _path_ok(groups: list[GroupState], period: int, rate: int, available: int, outlook: Outlook) -> bool:
    """An independent walk with the domain's GroupState arithmetic: the releases never take the
    pool below zero (nor below where refunds alone would leave it)."""
    states = [*groups, *outlook.groups]
    pool = base = available
    for h in range(len(outlook.inflow_fen) + 1):
        pool += outlook.inflow_fen[h - 1] if h else 0
        base += outlook.inflow_fen[h - 1] if h else 0  # where the inflow alone leaves the pool
        now = period + h
        due = [g for g in states if g.start_period <= now]
        pool -= release_at(due, rate)
        if pool < min(base, 0):
            return False
        states = [GroupState(g.start_period, g.multiple, g.points_cpts, int(advance(g.fraction, rate)))
                  if g.start_period <= now and g.active else g for g in states]
    return True


def _rule(controller: str):  # type: ignore[no-untyped-def]
    source = dict(load_policy().source)
    source["release"] = {**source["release"], "controller": controller}
    return policy_from_mapping(source).release


groups_st = st.lists(st.builds(
    GroupState, st.integers(-5, 0), st.sampled_from([Decimal(5), Decimal("2.25")]),
    st.integers(1, 10**9), st.integers(0, SCALE)), min_size=1, max_size=5)
outlook_st = st.builds(
    Outlook, st.lists(st.integers(-10**6, 10**8), min_size=0, max_size=6).map(tuple),
    st.lists(st.builds(GroupState, st.integers(1, 6), st.just(Decimal(5)), st.integers(0, 10**8),
                       st.just(0)), max_size=3).map(tuple))


@settings(max_examples=60, deadline=None)
@given(groups_st, st.integers(0, 10**9), outlook_st)
def test_lookahead_rate_is_sustainable_affordable_and_maximal(
        groups: list[GroupState], available: int, outlook: Outlook) -> None:
    affordable = affordable_rate(groups, available, nominal_rate(40))
    rate = lookahead_rate(groups, 0, affordable, available, outlook)
    assert 0 <= rate <= affordable
    assert sustainable(groups, 0, rate, available, outlook)
    assert _path_ok(groups, 0, rate, available, outlook)  # the fast walk agrees with GroupState's
    if rate < affordable:  # a little more is not sustainable: the rate is the maximum (to tolerance)
        assert not _path_ok(groups, 0, rate + LOOKAHEAD_TOLERANCE + 1, available, outlook)


def test_a_falling_inflow_lowers_the_rate_below_budget() -> None:
    groups = [GroupState(0, Decimal(5), 10**8, 0)]  # cap 5 x 10^8 fen
    available = 2 * 10**7  # enough for 1/40 now (1.25e7), not for 12 periods of it without inflow
    budget = affordable_rate(groups, available, nominal_rate(40))
    dry = Outlook((0,) * 12)
    rate = lookahead_rate(groups, 0, budget, available, dry)
    assert budget == nominal_rate(40)
    assert 0 < rate < budget
    assert release_at(groups, rate) * 13 <= available  # 13 periods paid from what the pool holds
    wet = Outlook((10**8,) * 12)
    assert lookahead_rate(groups, 0, budget, available, wet) == budget


def test_choose_rate_is_budget_without_an_outlook_and_never_above_it_with_one() -> None:
    groups = [GroupState(0, Decimal(5), 10**8, 0), GroupState(-3, Decimal("2.25"), 4 * 10**7, SCALE // 10)]
    budget = choose_rate(_rule("budget"), groups, 3 * 10**6, 10**8, None, None)
    plain = choose_rate(_rule("forecast"), groups, 3 * 10**6, 10**8, None, None)
    assert plain == budget
    ahead = choose_rate(_rule("forecast"), groups, 3 * 10**6, 10**8, None, None,
                        outlook=Outlook((0,) * 12))
    assert ahead[1] == budget[1] and ahead[0] < budget[0]
    assert _rule("forecast").controller is Controller.FORECAST


def test_projected_outlook_scales_the_pending_points_with_the_band() -> None:
    pending = [GroupState(8, Decimal(5), 1000, 0)]
    out = projected_outlook([200, 100, 50, 0], 7, pending)
    assert out is not None
    assert out.inflow_fen == (100, 50, 0)
    assert [(g.start_period, g.points_cpts) for g in out.groups] == [(8, 1000), (9, 500), (10, 250)]
    assert projected_outlook([200], 7, pending) is None
