"""Rings (刷单团伙) seen on the order: the shared-identifier graph and what it shows at once.

An order that carries a ``payment_ref`` or a ``device_id`` adds its consumer's edges to the
graph (``adapters.risk_store``; the payment side may also register a merchant's own instruments
and devices, :func:`register_identifiers`) and then asks, through indexed lookups only:

- **wash trading, own accounts** (``wash_trading``): is the consumer connected to the merchant
  it buys at? (it pays with the merchant's own instrument, or with one shared with someone who
  does);
- **wash trading, ring** (``wash_ring``): have at least ``[risk] ring_size`` consumers of the
  consumer's component ordered at this merchant in this period? (asked only when the component
  is that large, through ``ix_risk_components_root_id`` and ``ix_orders_consumer_period``);
- **self-referral ring** (``self_referral_ring``): is the consumer connected to its referrer?

An order without identifiers costs nothing here; one whose identifiers are known costs one
``INSERT .. ON CONFLICT DO NOTHING`` and one lookup of the roots (one statement on
PostgreSQL). Every flag opens or joins a case (:mod:`services.flags`); the order itself is
never refused for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from gongsheng.adapters import risk_store as graph
from gongsheng.adapters import tables as t
from gongsheng.domain.errors import InvalidInput, NotFound
from gongsheng.domain.policy import RiskRule
from gongsheng.services.flags import Flag, raise_flag
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
    for identifier in new:
        other = graph.other_holder(conn, identifier, party_id)
        if other is not None:
            graph.union(conn, party_id, other)


def register_identifiers(uow: UnitOfWork, party_id: int, payment_refs: Sequence[str],
                         device_ids: Sequence[str]) -> int:
    """Record a party's own instruments and devices (a merchant's accounts, say); how many of
    the pairs were new. Idempotent: a known pair adds nothing."""
    conn = uow.conn
    if conn.execute(select(t.parties.c.id).where(t.parties.c.id == party_id)).first() is None:
        raise NotFound(f"party {party_id} does not exist")
    ids = [("payment", v) for v in payment_refs] + [("device", v) for v in device_ids]
    if not ids:
        raise InvalidInput("give at least one payment_ref or device_id")
    return link(conn, party_id, ids)


def _ring_buyers(conn: Connection, root: int, merchant_id: int, period: int,
                 limit: int) -> list[int]:
    """Consumers of the component at ``root`` with an order at ``merchant_id`` in ``period``."""
    rc, o = t.risk_components, t.orders
    return [int(c) for c in conn.execute(
        select(o.c.consumer_id).select_from(rc.join(o, o.c.consumer_id == rc.c.party_id))
        .where(rc.c.root_id == root, o.c.period == period, o.c.merchant_id == merchant_id)
        .group_by(o.c.consumer_id).order_by(o.c.consumer_id).limit(limit)).scalars()]


def observe_order(uow: UnitOfWork, rule: RiskRule, *, order_id: int, period: int,
                  consumer_id: int, merchant_id: int, referrer_id: int | None,
                  payment_ref: str | None, device_id: str | None) -> None:
    """Feed a placed order's identifiers to the graph and flag what it shows (see above)."""
    ids = identifiers(payment_ref, device_id)
    if not ids or not rule.detect_on_order:
        return
    conn = uow.conn
    wanted = [consumer_id, merchant_id] + ([referrer_id] if referrer_id is not None else [])
    new, rows = graph.add_and_read(conn, consumer_id, ids, wanted)
    if new:  # rare: a first use of an identifier by this consumer
        _join(conn, consumer_id, new)
        rows = graph.roots_and_sizes(conn, wanted)
    if consumer_id not in rows:  # its first pair committed by a concurrent order meanwhile
        graph.ensure_node(conn, consumer_id)
        rows = graph.roots_and_sizes(conn, wanted)
    root, size = rows[consumer_id]
    if rows.get(merchant_id, (None, 0))[0] == root:
        raise_flag(uow, Flag(
            "wash_trading", f"wash_trading:{merchant_id}:{consumer_id}",
            f"wash_trading:merchant:{merchant_id}", period, merchant_id,
            f"consumer {consumer_id} shares a payment instrument or device with merchant "
            f"{merchant_id}, its own accounts, and buys there",
            ((merchant_id, "merchant"), (consumer_id, "consumer")), (order_id,)))
    if referrer_id is not None and rows.get(referrer_id, (None, 0))[0] == root:
        raise_flag(uow, Flag(
            "self_referral_ring", f"self_referral_ring:{referrer_id}:{consumer_id}",
            f"self_referral_ring:referrer:{referrer_id}", period, referrer_id,
            f"consumer {consumer_id} shares a payment instrument or device with its "
            f"referrer {referrer_id}",
            ((referrer_id, "referrer"), (consumer_id, "consumer")), (order_id,)))
    if size >= rule.ring_size:
        buyers = _ring_buyers(conn, root, merchant_id, period, rule.max_flags)
        if len(buyers) >= rule.ring_size:
            raise_flag(uow, Flag(
                "wash_ring", f"wash_ring:{period}:{merchant_id}:{consumer_id}",
                f"wash_trading:merchant:{merchant_id}", period, merchant_id,
                f"{len(buyers)} consumers sharing payment instruments or devices bought at "
                f"merchant {merchant_id} in period {period}",
                ((merchant_id, "merchant"), *((b, "consumer") for b in buyers)), (order_id,)))
