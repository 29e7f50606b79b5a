"""The identifier graph of parties and the risk detectors' reads (``services.rings``,
``services.risk``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

Identifier = tuple[str, str]
"""``(kind, value)``: a payment instrument or a device."""
ConnectedOrder = tuple[int, int, int]
"""``(party, consumer, order)``."""


class RiskStore(Protocol):
    """Parties sharing an identifier are in one component of the graph (a union-find forest);
    components only ever join. The detectors' reads write nothing."""

    def add_identifiers(self, party_id: int, identifiers: Sequence[Identifier]
                        ) -> list[Identifier]:
        """Record that ``party_id`` used each identifier; the pairs that are new."""
        ...

    def lock_identifiers(self, identifiers: Iterable[Identifier]) -> None:
        """PostgreSQL: hold each identifier's lock until the transaction ends (in one order)."""
        ...

    def other_holder(self, identifier: Identifier, party_id: int) -> int | None:
        """Another party that used ``identifier`` (any: they are all in one component), or None."""
        ...

    def ensure_node(self, party_id: int) -> None:
        """Give ``party_id`` a component of its own if it has none."""
        ...

    def union(self, parties: Sequence[int]) -> tuple[int, bool]:
        """Join the components of ``parties`` (all have nodes) into one; ``(root, whether any were
        apart)``. The largest component keeps its root (ties: the lowest root); every other is
        relabelled to it, so a relabelled party's component at least doubles. On PostgreSQL the
        roots' rows are locked first (a concurrent union that moved one makes it read again)."""
        ...

    def feed_period(self, period: int) -> None:
        """Add the edges of ``period``'s orders (each order's consumer to each identifier it
        carries; known pairs add nothing) and a node, its own component, for each of their
        consumers that has none. The components the new edges connect are joined afterwards
        (:func:`split_identifiers`, then :func:`union` of each one's roots)."""
        ...

    def split_identifiers(self, period: int) -> list[tuple[int, ...]]:
        """For each identifier carried by an order of ``period`` whose holders lie in more than one
        component, the roots of those components (the ones :func:`union` must join). One statement:
        the period's identifiers joined to their holders (``ix_risk_identifiers_edge``) and roots,
        each identifier's roots counted by a window (:data:`_SPLIT`)."""
        ...

    def orders_connected_to_merchant(self, period: int) -> list[ConnectedOrder]:
        """``(merchant, consumer, order)`` for each order of ``period`` carrying an identifier
        whose consumer is in its merchant's component."""
        ...

    def orders_connected_to_referrer(self, period: int) -> list[ConnectedOrder]:
        """``(referrer, consumer, order)`` for each order of ``period`` carrying an identifier
        whose consumer is in its referrer's component."""
        ...

    def ring_candidates(self, period: int, ring_size: int) -> list[tuple[int, int]]:
        """``(merchant, root)``: an order of ``period`` carrying an identifier, at ``merchant``, by
        a consumer of the component at ``root``, which has at least ``ring_size`` members."""
        ...

    def ring_buyers(self, root: int, merchant_id: int, period: int,
                    limit: int) -> tuple[list[int], list[int]]:
        """Up to ``limit`` consumers of the component at ``root`` with an order at ``merchant_id``
        in ``period`` (``ix_risk_components_root_id``, ``ix_orders_consumer_period``), and those
        orders."""
        ...

    def order_bursts(self, period: int, above: int, limit: int) -> list[tuple[int, int]]:
        """``(consumer, orders)`` of consumers with more than ``above`` orders in ``period``."""
        ...

    def single_merchant_buyers(self, period: int, at_least: int,
                               limit: int) -> list[tuple[int, int, int]]:
        """``(consumer, merchant, orders)``: consumers whose ``>= at_least`` orders of ``period``
        were all at one merchant. The candidates are the period's heavy buyers (index); only their
        orders are read (by consumer), never the period's."""
        ...

    def idle_referees(self, at_least: int, limit: int) -> list[tuple[int, int]]:
        """``(referrer, referees)``: referrers of ``>= at_least`` consumers who never ordered (their
        ``referees:idle`` totals, through the partial index; never a scan of the consumers)."""
        ...

    def refunds_after_release(self, since_period: int,
                              limit: int) -> list[tuple[int, int, int]]:
        """``(consumer, refunds, vouchers taken back)`` of refunds since ``since_period`` that
        clawed back released vouchers."""
        ...

    def merchant_purchases(self, period: int) -> list[tuple[int, int]]:
        """``(buyer merchant, seller merchant)``: in ``period``, a consumer connected to the buyer
        (one component of the shared-identifier graph) ordered at the seller. Each of the period's
        orders is joined to its consumer's component row by key; most consumers have none."""
        ...

    def last_close_figures(self) -> dict[str, Any]:
        """The figures of the last closed period ({} before the first close)."""
        ...
