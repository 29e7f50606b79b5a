"""The shared-identifier graph, fed at the close: orders never touch it, the close sees the whole
period, and the graph and the wash-trading flags match a reference union-find (both databases)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gongsheng.adapters import tables as t
from gongsheng.adapters.policy_file import default_policy_text, parse_policy_text
from gongsheng.adapters.policy_store import current_policy
from gongsheng.services import cases, rings
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork, stores_on

from .helpers import count_rows

if TYPE_CHECKING:
    from conftest import City


def paid(city: City, consumer: int, ref: str | None, device: str | None = None,
         merchant: int | None = None) -> int:
    merchant = city.merchant if merchant is None else merchant
    return city.platform.order(OrderRequest(consumer, merchant, 10_000, 0, city.key(), None,
                                            ref, device)).order_id


def graph_rows(plat: Platform) -> tuple[set[tuple[str, str, int]], dict[int, tuple[int, int]]]:
    """Every edge ``(kind, value, party)`` and every node ``party -> (root, size)``."""
    with plat.engine.connect() as conn:
        edges = {(str(k), str(v), int(p)) for k, v, p in conn.execute(
            select(t.risk_identifiers.c.kind, t.risk_identifiers.c.value,
                   t.risk_identifiers.c.party_id))}
        nodes = {int(p): (int(r), int(s)) for p, r, s in conn.execute(
            select(t.risk_components.c.party_id, t.risk_components.c.root_id,
                   t.risk_components.c.size))}
    return edges, nodes


def assert_invariants(plat: Platform) -> None:
    """All holders of an identifier share a root; a root names itself; its size counts its
    members; every holder has a node."""
    edges, nodes = graph_rows(plat)
    holders: dict[tuple[str, str], set[int]] = {}
    for kind, value, party in edges:
        holders.setdefault((kind, value), set()).add(party)
    for parties in holders.values():
        assert all(p in nodes for p in parties)
        assert len({nodes[p][0] for p in parties}) == 1
    members: dict[int, int] = {}
    for root, _ in nodes.values():
        members[root] = members.get(root, 0) + 1
    for root, count in members.items():
        assert nodes[root][0] == root and nodes[root][1] == count


def test_orders_store_their_identifiers_and_the_close_feeds_the_graph(city: City) -> None:
    plat = city.platform
    paid(city, city.consumer, "card:a", "dev:a")
    assert count_rows(plat, t.risk_identifiers) == 0 and count_rows(plat, t.risk_components) == 0
    plat.close_period()
    edges, nodes = graph_rows(plat)
    assert edges == {("payment", "card:a", city.consumer), ("device", "dev:a", city.consumer)}
    assert nodes == {city.consumer: (city.consumer, 1)}

    def feed_again(uow: UnitOfWork) -> None:
        period, policy = current_policy(uow.conn)
        rings.feed(uow, period.seq - 1, policy.risk)

    plat.run(feed_again)  # idempotent
    assert graph_rows(plat) == (edges, nodes)


def test_the_close_flags_an_order_placed_before_its_connecting_edge(city: City) -> None:
    """The consumer first pays with a card, which the merchant registers as its own later in
    the period: the close sees the period's whole graph and flags that order."""
    plat = city.platform
    fake = plat.consumer("Fake")
    first = paid(city, fake, "card:later-known")
    plat.run(rings.register_identifiers, city.merchant, ["card:later-known"], [])
    plat.close_period()
    found = plat.read(lambda c: [cases.get_case(stores_on(c), k.id)
                               for k in cases.list_cases(stores_on(c)).items])
    assert [k.detector for k in found] == ["wash_trading"]
    assert list(found[0].order_ids) == [first]
    assert_invariants(plat)


def test_detection_off_keeps_the_orders_identifiers_out_of_the_graph(
        db_url: str, open_platform: Callable[..., Platform],
        make_city: Callable[[Platform], City]) -> None:
    text = default_policy_text().replace("detect_on_order = true", "detect_on_order = false", 1)
    plat = open_platform(db_url, parse_policy_text(text, "detection off"))
    city = make_city(plat)
    plat.run(rings.register_identifiers, city.merchant, ["card:own"], [])
    paid(city, city.consumer, "card:own")
    plat.close_period()
    assert count_rows(plat, t.cases) == 0
    assert graph_rows(plat)[0] == {("payment", "card:own", city.merchant)}


class Reference:
    """A union-find in memory over the same edges."""

    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, x: object) -> object:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            x = self.parent[x]
        return x

    def join(self, a: object, b: object) -> None:
        self.parent[self.find(a)] = self.find(b)


ORDER = st.tuples(st.integers(0, 3), st.integers(0, 1), st.none() | st.integers(0, 2),
                  st.none() | st.integers(0, 2))
"""``(consumer, merchant, card, device)``: indexes into the example's own parties and names."""


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(own=st.none() | st.integers(0, 2),
       periods=st.lists(st.lists(ORDER, max_size=6), min_size=1, max_size=2))
def test_the_graph_and_wash_trading_flags_match_a_reference(
        city: City, own: int | None, periods: list[list[tuple[int, int, int | None, int | None]]]
        ) -> None:
    """Each example has its own consumers and identifier names (the database is shared), so
    its parties connect only through its own edges and the merchant it may register a card for."""
    plat = city.platform
    tag = uuid.uuid4().hex[:8]
    consumers = [plat.consumer(f"P {tag} {i}") for i in range(4)]
    merchants = [city.merchant, city.home]
    card = [f"card:{tag}:{i}" for i in range(3)]
    device = [f"dev:{tag}:{i}" for i in range(3)]
    ref = Reference()
    if own is not None:
        plat.run(rings.register_identifiers, city.merchant, [card[own]], [])
        ref.join(city.merchant, ("payment", card[own]))
    expected: set[tuple[int, int]] = set()
    for orders in periods:
        placed = []
        for c, m, k, d in orders:
            paid(city, consumers[c], None if k is None else card[k],
                 None if d is None else device[d], merchant=merchants[m])
            if k is not None or d is not None:
                placed.append((consumers[c], merchants[m]))
            if k is not None:
                ref.join(consumers[c], ("payment", card[k]))
            if d is not None:
                ref.join(consumers[c], ("device", device[d]))
        plat.close_period()
        expected |= {(m, c) for c, m in placed if ref.find(c) == ref.find(m)}
    assert_invariants(plat)
    _, nodes = graph_rows(plat)
    ours = [p for p in [*consumers, city.merchant] if p in nodes]
    for a in ours:
        for b in ours:
            assert (nodes[a][0] == nodes[b][0]) == (ref.find(a) == ref.find(b))
    with plat.engine.connect() as conn:
        keys = set(conn.execute(select(t.risk_flags.c.flag_key).where(
            t.risk_flags.c.detector == "wash_trading")).scalars())
    flagged = {(int(m), int(c)) for _, m, c in (k.split(":") for k in keys)
               if int(c) in consumers}
    assert flagged == expected
