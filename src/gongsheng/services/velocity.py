"""The velocity cap (频次上限): orders a consumer may place per period, at all and at one merchant.

The policy's ``[risk]`` sets ``max_orders_per_period`` and ``max_pair_orders_per_period`` (absent:
no cap). An order that would go over either is refused with :class:`VelocityCapExceeded` and
leaves nothing written. A count reads at most ``cap`` entries of ``ix_orders_consumer_period``.

Two orders of one consumer at once never both take the last place under the cap:

- SQLite has one writer at a time; the counts are read before the order is written (the order
  store's statement-by-statement write, ``order_store.write_orders``, asks :func:`refuse_over`
  before each order);
- PostgreSQL: an order holds a per-consumer lock from its first statement until it commits
  (``order_start._BEGIN_PG`` takes it in the round trip that takes the books lock, when the open
  period's policy caps velocity; ``OrderStore.lock_velocity`` otherwise, once per policy version
  the process had not read), and the counts are read by a statement that starts after the lock
  is held, so they see every order of the consumer committed before. That statement is the
  order's write itself (``order_store.insert_orders_pg`` returns the counts of the consumer's
  orders before it): an order over a cap is refused just after it (:func:`refuse_over`) and its
  transaction, or the batch's savepoint, is rolled back, as when the period closed under it.
  The velocity cap costs an order no round trip. An order spending vouchers, written statement
  by statement, reads the counts before its write.

The lock is taken only when a cap is set, and only one consumer's orders queue on it.
"""

from __future__ import annotations

from gongsheng.domain.errors import VelocityCapExceeded
from gongsheng.domain.policy import RiskRule

Caps = tuple[int | None, int | None]
"""``(per consumer, per consumer and merchant)``: the orders of a period each allows (None: no cap)."""


def caps(rule: RiskRule) -> Caps:
    """The two caps of ``rule``."""
    return rule.max_orders_per_period, rule.max_pair_orders_per_period


def refuse_over(rule: RiskRule, counts: tuple[int, int], *, consumer_id: int, merchant_id: int,
                period: int) -> None:
    """Refuse the order if the consumer's orders of ``period`` before it (``counts``: in all,
    and at ``merchant_id``, each counted up to its cap) leave no place under a cap of ``rule``."""
    per_consumer, per_pair = caps(rule)
    by_consumer, by_pair = counts
    if per_consumer is not None and by_consumer >= per_consumer:
        raise VelocityCapExceeded(
            f"consumer {consumer_id} has reached the most orders the policy allows it in period "
            f"{period} (risk.max_orders_per_period); this order was not placed")
    if per_pair is not None and by_pair >= per_pair:
        raise VelocityCapExceeded(
            f"consumer {consumer_id} has placed {per_pair} orders at merchant {merchant_id} in "
            f"period {period}, the most the policy allows (risk.max_pair_orders_per_period); "
            "this order was not placed")

