"""The velocity cap (频次上限): orders a consumer may place per period, at all and at one merchant.

The policy's ``[risk]`` sets ``max_orders_per_period`` and ``max_pair_orders_per_period`` (absent:
no cap). An order that would go over either is refused with :class:`VelocityCapExceeded` before
anything is written, so a refused order posts nothing. The count reads at most ``cap`` entries of
``ix_orders_consumer_period``. On PostgreSQL the check holds a per-consumer lock until the order
commits, so two orders of one consumer at once cannot both take the last place under the cap
(the lock is taken only when a cap is set, and only one consumer's orders queue on it); the lock
and the counts go in one round trip.
"""

from __future__ import annotations

from sqlalchemy import Connection

from gongsheng.adapters import risk_store
from gongsheng.domain.errors import VelocityCapExceeded
from gongsheng.domain.policy import RiskRule


def check_velocity(conn: Connection, rule: RiskRule, *, consumer_id: int, merchant_id: int,
                   period: int) -> None:
    """Refuse the consumer's next order if it would exceed a cap of ``rule`` in ``period``."""
    per_consumer, per_pair = rule.max_orders_per_period, rule.max_pair_orders_per_period
    if per_consumer is None and per_pair is None:
        return
    by_consumer, by_pair = risk_store.velocity_counts(conn, consumer_id, merchant_id, period,
                                                      (per_consumer, per_pair))
    if per_consumer is not None and by_consumer >= per_consumer:
        raise VelocityCapExceeded(
            f"consumer {consumer_id} has reached the most orders the policy allows it in period "
            f"{period} (risk.max_orders_per_period); this order was not placed")
    if per_pair is not None and by_pair >= per_pair:
        raise VelocityCapExceeded(
            f"consumer {consumer_id} has placed {per_pair} orders at merchant {merchant_id} in "
            f"period {period}, the most the policy allows (risk.max_pair_orders_per_period); "
            "this order was not placed")
