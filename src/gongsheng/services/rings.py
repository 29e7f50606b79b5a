"""Rings (刷单团伙): the shared-identifier graph and what it shows at a period's close.

An order may carry a ``payment_ref`` and a ``device_id``; the order stores them and does
nothing more (the order path pays for two columns, never for the graph). At the close
(:func:`feed`, run first by ``risk.detect_at_close`` in the close's transaction) the closing
period's orders feed the graph at once (``adapters.risk_store``: their new (identifier,
consumer) pairs, set-based, then a union for each identifier that now spans two components).
A party's own instruments and devices (a merchant's accounts, say) are registered at any time
(:func:`register_identifiers`) and join the graph at once.

Then three close detectors read the period's orders carrying an identifier, each through
indexed lookups of its parties' components:

- **wash trading, own accounts** (:func:`wash_trading`): the consumer is connected to the
  merchant it bought at (it paid with the merchant's own instrument, or with one shared with
  someone who does); one flag per (merchant, consumer) pair, ever, with its orders of the period;
- **wash trading, ring** (:func:`wash_ring`): at least ``[risk] ring_size`` consumers of one
  component ordered at one merchant in the period (asked only of components that large,
  through ``ix_risk_components_root_id`` and ``ix_orders_consumer_period``); one flag per
  (period, merchant, component), listing at most ``max_flags`` of its buyers and their orders;
- **self-referral ring** (:func:`self_referral_ring`): the consumer is connected to its
  referrer; one flag per (referrer, consumer) pair, ever.

The close sees the whole period's graph, so an order placed before the edge that connects its
consumer is flagged too. Nothing of a period's points is released before its close (holdings
start releasing the period after), so a ring is flagged before any of its points pay out.
Every flag opens or joins a case (:mod:`services.flags`); no order is refused for it.
``[risk] detect_on_order = false`` keeps the orders' identifiers out of the graph and turns
these three detectors off.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from sqlalchemy import Connection, select

from gongsheng.adapters import risk_store as graph
from gongsheng.adapters import tables as t
from gongsheng.domain.errors import InvalidInput, NotFound
from gongsheng.domain.policy import RiskRule
from gongsheng.services.flags import Flag
from gongsheng.services.unit_of_work import UnitOfWork

KINDS = {"payment_ref": "payment", "device_id": "device"}


def identifiers(payment_ref: str | None, device_id: str | None) -> list[graph.Identifier]:
    """An order's identifiers as graph edges (absent ones left out)."""
    out: list[graph.Identifier] = []
    if payment_ref is not None:
        out.append(("payment", payment_ref))
    if device_id is not None:
        out.append(("device", device_id))
    return out


def link(conn: Connection, party_id: int, ids: Sequence[graph.Identifier]) -> int:
    """Add ``party_id``'s edges and join the components they connect; how many were new."""
    new = graph.add_identifiers(conn, party_id, ids)
    _join(conn, party_id, new)
    return len(new)


def _join(conn: Connection, party_id: int, new: Sequence[graph.Identifier]) -> None:
    """Join ``party_id``'s component with those of the other holders of its ``new`` pairs."""
    if not new:
        return
    graph.lock_identifiers(conn, new)
    graph.ensure_node(conn, party_id)
    others = [graph.other_holder(conn, identifier, party_id) for identifier in new]
    if any(p is not None for p in others):
        graph.union(conn, [party_id, *(p for p in others if p is not None)])


def register_identifiers(uow: UnitOfWork, party_id: int, payment_refs: Sequence[str],
                         device_ids: Sequence[str]) -> int:
    """Record a party's own instruments and devices (a merchant's accounts, say); how many of
    the pairs were new. Idempotent: a known pair adds nothing. Takes the books lock shared, so
    that it never runs during a close's :func:`feed`."""
    conn = uow.conn
    if conn.execute(select(t.parties.c.id).where(t.parties.c.id == party_id)).first() is None:
        raise NotFound(f"party {party_id} does not exist")
    ids = [("payment", v) for v in payment_refs] + [("device", v) for v in device_ids]
    if not ids:
        raise InvalidInput("give at least one payment_ref or device_id")
    uow.lock_books()
    added = link(conn, party_id, ids)
    if added:
        uow.audit("party.identifiers_registered", f"party:{party_id}", {"added": added})
    return added


def feed(conn: Connection, period: int, rule: RiskRule) -> None:
    """Inside ``period``'s close (the books held alone): add its orders' identifiers to the
    graph and join the components they connect. Idempotent: a second feed adds nothing."""
    if not rule.detect_on_order:
        return
    graph.feed_period(conn, period)
    for roots in graph.split_identifiers(conn, period):
        graph.union(conn, roots)


def _per_pair(rows: Sequence[graph.ConnectedOrder]) -> list[tuple[int, int, tuple[int, ...]]]:
    """``(party, consumer, orders)`` from rows sorted by party and consumer."""
    return [(party, consumer, tuple(o for _, _, o in found))
            for (party, consumer), found in groupby(rows, key=lambda r: (r[0], r[1]))]


def _pair_flags(kind: str, role: str, period: int, rows: Sequence[graph.ConnectedOrder],
                why: str) -> list[Flag]:
    """One ``kind`` flag per (party, consumer) pair of ``rows``, the party in ``role``; ``why``
    is formatted with ``party`` and ``consumer``."""
    return [Flag(kind, f"{kind}:{party}:{consumer}", f"{kind}:{role}:{party}", period, party,
                 why.format(party=party, consumer=consumer),
                 ((party, role), (consumer, "consumer")), orders)
            for party, consumer, orders in _per_pair(rows)]


def wash_trading(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    """Consumers of ``period`` connected to the merchant they bought at (after :func:`feed`)."""
    if not rule.detect_on_order:
        return []
    return _pair_flags("wash_trading", "merchant", period,
                       graph.orders_connected_to_merchant(conn, period),
                       "consumer {consumer} shares a payment instrument or device with merchant "
                       "{party}, its own accounts, and buys there")


def wash_ring(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    """Components of at least ``ring_size`` consumers who bought at one merchant in ``period``."""
    if not rule.detect_on_order:
        return []
    flags = []
    for merchant, root in graph.ring_candidates(conn, period, rule.ring_size):
        buyers, orders = graph.ring_buyers(conn, root, merchant, period, rule.max_flags)
        if len(buyers) >= rule.ring_size:
            flags.append(Flag(
                "wash_ring", f"wash_ring:{period}:{merchant}:{root}",
                f"wash_trading:merchant:{merchant}", period, merchant,
                f"{len(buyers)} consumers sharing payment instruments or devices bought at "
                f"merchant {merchant} in period {period}",
                ((merchant, "merchant"), *((b, "consumer") for b in buyers)), tuple(orders)))
    return flags


def self_referral_ring(conn: Connection, period: int, rule: RiskRule) -> list[Flag]:
    """Consumers of ``period`` connected to their referrer (after :func:`feed`)."""
    if not rule.detect_on_order:
        return []
    return _pair_flags("self_referral_ring", "referrer", period,
                       graph.orders_connected_to_referrer(conn, period),
                       "consumer {consumer} shares a payment instrument or device with its "
                       "referrer {party}")
