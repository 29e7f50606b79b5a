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

from gongsheng.domain.errors import InvalidInput, NotFound
from gongsheng.domain.policy import RiskRule
from gongsheng.services.flags import Flag
from gongsheng.services.ports.risk import ConnectedOrder, Identifier
from gongsheng.services.ports.work import Stores, Work

KINDS = {"payment_ref": "payment", "device_id": "device"}


def identifiers(payment_ref: str | None, device_id: str | None) -> list[Identifier]:
    """An order's identifiers as graph edges (absent ones left out)."""
    out: list[Identifier] = []
    if payment_ref is not None:
        out.append(("payment", payment_ref))
    if device_id is not None:
        out.append(("device", device_id))
    return out


def link(stores: Stores, party_id: int, ids: Sequence[Identifier]) -> int:
    """Add ``party_id``'s edges and join the components they connect; how many were new."""
    new = stores.risk.add_identifiers(party_id, ids)
    _join(stores, party_id, new)
    return len(new)


def _join(stores: Stores, party_id: int, new: Sequence[Identifier]) -> None:
    """Join ``party_id``'s component with those of the other holders of its ``new`` pairs."""
    if not new:
        return
    stores.risk.lock_identifiers(new)
    stores.risk.ensure_node(party_id)
    others = [stores.risk.other_holder(identifier, party_id) for identifier in new]
    if any(p is not None for p in others):
        stores.risk.union([party_id, *(p for p in others if p is not None)])


def register_identifiers(uow: Work, party_id: int, payment_refs: Sequence[str],
                         device_ids: Sequence[str]) -> int:
    """Record a party's own instruments and devices (a merchant's accounts, say); how many of
    the pairs were new. Idempotent: a known pair adds nothing. Takes the books lock shared, so
    that it never runs during a close's :func:`feed`."""
    if uow.parties.kind(party_id) is None:
        raise NotFound(f"party {party_id} does not exist")
    ids = [("payment", v) for v in payment_refs] + [("device", v) for v in device_ids]
    if not ids:
        raise InvalidInput("give at least one payment_ref or device_id")
    uow.lock_books()
    added = link(uow, party_id, ids)
    if added:
        uow.audit("party.identifiers_registered", f"party:{party_id}", {"added": added})
    return added


def feed(stores: Stores, period: int, rule: RiskRule) -> None:
    """Inside ``period``'s close (the books held alone): add its orders' identifiers to the
    graph and join the components they connect. Idempotent: a second feed adds nothing."""
    if not rule.detect_on_order:
        return
    stores.risk.feed_period(period)
    for roots in stores.risk.split_identifiers(period):
        stores.risk.union(roots)


def _per_pair(rows: Sequence[ConnectedOrder]) -> list[tuple[int, int, tuple[int, ...]]]:
    """``(party, consumer, orders)`` from rows sorted by party and consumer."""
    return [(party, consumer, tuple(o for _, _, o in found))
            for (party, consumer), found in groupby(rows, key=lambda r: (r[0], r[1]))]


def _pair_flags(kind: str, role: str, period: int, rows: Sequence[ConnectedOrder],
                why: str) -> list[Flag]:
    """One ``kind`` flag per (party, consumer) pair of ``rows``, the party in ``role``; ``why``
    is formatted with ``party`` and ``consumer``."""
    return [Flag(kind, f"{kind}:{party}:{consumer}", f"{kind}:{role}:{party}", period, party,
                 why.format(party=party, consumer=consumer),
                 ((party, role), (consumer, "consumer")), orders)
            for party, consumer, orders in _per_pair(rows)]


def wash_trading(stores: Stores, period: int, rule: RiskRule) -> list[Flag]:
    """Consumers of ``period`` connected to the merchant they bought at (after :func:`feed`)."""
    if not rule.detect_on_order:
        return []
    return _pair_flags("wash_trading", "merchant", period,
                       stores.risk.orders_connected_to_merchant(period),
                       "consumer {consumer} shares a payment instrument or device with merchant "
                       "{party}, its own accounts, and buys there")


def wash_ring(stores: Stores, period: int, rule: RiskRule) -> list[Flag]:
    """Components of at least ``ring_size`` consumers who bought at one merchant in ``period``."""
    if not rule.detect_on_order:
        return []
    flags = []
    for merchant, root in stores.risk.ring_candidates(period, rule.ring_size):
        buyers, orders = stores.risk.ring_buyers(root, merchant, period, rule.max_flags)
        if len(buyers) >= rule.ring_size:
            flags.append(Flag(
                "wash_ring", f"wash_ring:{period}:{merchant}:{root}",
                f"wash_trading:merchant:{merchant}", period, merchant,
                f"{len(buyers)} consumers sharing payment instruments or devices bought at "
                f"merchant {merchant} in period {period}",
                ((merchant, "merchant"), *((b, "consumer") for b in buyers)), tuple(orders)))
    return flags


def self_referral_ring(stores: Stores, period: int, rule: RiskRule) -> list[Flag]:
    """Consumers of ``period`` connected to their referrer (after :func:`feed`)."""
    if not rule.detect_on_order:
        return []
    return _pair_flags("self_referral_ring", "referrer", period,
                       stores.risk.orders_connected_to_referrer(period),
                       "consumer {consumer} shares a payment instrument or device with its "
                       "referrer {party}")
