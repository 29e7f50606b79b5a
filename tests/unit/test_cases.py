"""The case state machine and the circle finder, on generated inputs."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongsheng.domain.cases import TRANSITIONS, CaseStatus, allowed, check_transition
from gongsheng.domain.errors import CaseTransitionRefused
from gongsheng.domain.trade_graph import circles

FORWARD = {("open", "investigating"), ("open", "confirmed"), ("open", "dismissed"),
           ("investigating", "confirmed"), ("investigating", "dismissed")}
"""The moves docs/risk.md draws, written out independently of TRANSITIONS."""


@given(st.lists(st.sampled_from(list(CaseStatus)), max_size=12))
def test_a_case_follows_only_the_drawn_moves(moves: list[CaseStatus]) -> None:
    status = CaseStatus.OPEN
    decided_once = False
    for target in moves:
        legal = (status.value, target.value) in FORWARD
        if status is target:
            assert check_transition(status, target) is False  # a repeat changes nothing
        elif legal:
            assert check_transition(status, target) is True
            status = target
        else:
            with pytest.raises(CaseTransitionRefused):
                check_transition(status, target)
        decided_once = decided_once or status.decided
        assert not (decided_once and not status.decided)  # never leaves a decision


def test_the_table_is_the_drawing() -> None:
    pairs = {(a.value, b.value) for a in CaseStatus for b in CaseStatus if allowed(a, b)}
    assert pairs == FORWARD
    assert all(not TRANSITIONS[s] for s in CaseStatus if s.decided)


def _reachable(edges: set[tuple[int, int]], a: int) -> set[int]:
    seen, todo = set(), [a]
    while todo:
        n = todo.pop()
        for x, y in edges:
            if x == n and y not in seen:
                seen.add(y)
                todo.append(y)
    return seen


@given(st.sets(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=25))
def test_circles_are_the_mutually_reachable_sets(edges: set[tuple[int, int]]) -> None:
    nodes = {n for e in edges for n in e}
    reach = {n: _reachable({e for e in edges if e[0] != e[1]}, n) for n in nodes}
    expected = set()
    for n in nodes:
        group = tuple(sorted({n} | {m for m in nodes if m in reach[n] and n in reach[m]}))
        if len(group) > 1:
            expected.add(group)
    found = circles(edges)
    assert set(found) == expected and len(found) == len(expected)
    assert all(not set(a) & set(b) for a, b in itertools.combinations(found, 2))


def test_two_merchants_buying_from_each_other() -> None:
    assert circles([(1, 2), (2, 1), (2, 3), (3, 3)]) == [(1, 2)]


def _risk(text: str) -> object:
    from gongsheng.adapters.policy_file import default_policy_text, parse_policy_text

    return parse_policy_text(default_policy_text().replace("[risk]\n", "[risk]\n" + text, 1)).risk


def test_risk_caps_parse_and_refuse_bad_values() -> None:
    from gongsheng.domain.errors import PolicyError
    from gongsheng.domain.policy import RiskRule

    rule = _risk("max_orders_per_period = 5\nmax_pair_orders_per_period = 2\n")
    assert isinstance(rule, RiskRule)
    assert (rule.max_orders_per_period, rule.max_pair_orders_per_period) == (5, 2)
    default = _risk("")
    assert isinstance(default, RiskRule) and default.max_orders_per_period is None
    for bad in ("max_orders_per_period = 0\n", 'max_pair_orders_per_period = "3"\n',
                "detect_on_order = 1\n", "ring_size = 0\n"):
        with pytest.raises(PolicyError):
            _risk(bad)
