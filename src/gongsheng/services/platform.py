"""The platform facade: every use case as one call that opens, commits or rolls back a unit of work.

Entry points (CLI, API, demo) use this class only. A use case is run again (up to three times
in all) when the adapters report that what it read changed (:class:`RetryTransaction`: a close,
a deadlock) or that a concurrent writer committed the same idempotency key first
(:class:`DuplicateRequest`: the retry reads the first result, or reports the conflict).

A platform acts for an :class:`~gongsheng.domain.audit.Actor` (``system`` unless told):
``platform.as_actor(actor)`` is the same platform acting for ``actor``, whose units of work name
it in the audit records they make (entry points make one per request).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from gongsheng.adapters.ledger_store import trial_balance
from gongsheng.domain.audit import SYSTEM, Actor
from gongsheng.domain.errors import DuplicateRequest, RetryTransaction
from gongsheng.domain.policy import Policy
from gongsheng.services import (
    freezes,
    ordering,
    pay_codes,
    payouts,
    periods,
    refunding,
    registry,
    wallets,
)
from gongsheng.services.books import open_books
from gongsheng.services.unit_of_work import Engine, UnitOfWork

ATTEMPTS = 3

R = TypeVar("R")


class Platform:
    """The engine's use cases over one database."""

    def __init__(self, engine: Engine, actor: Actor = SYSTEM) -> None:
        self.engine = engine
        self.actor = actor

    def as_actor(self, actor: Actor) -> Platform:
        """This platform (the same engine) acting for ``actor``."""
        return type(self)(self.engine, actor)

    @classmethod
    def open(cls, url: str | None = None, policy: Policy | None = None) -> Platform:
        return cls(open_books(url, policy))

    def run(self, use_case: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run a use case in its own unit of work and commit it."""
        for attempt in range(ATTEMPTS):
            try:
                with UnitOfWork(self.engine, actor=self.actor) as uow:
                    result = use_case(uow, *args, **kwargs)
                    uow.commit()
                    return result
            except (RetryTransaction, DuplicateRequest):
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def read(self, query: Callable[..., R], *args: Any, snapshot: bool = False) -> R:
        """Run a query that only reads, in a read-only transaction (never blocks other reads);
        ``snapshot``: every statement of it reads the same committed state."""
        with UnitOfWork(self.engine, read_only=True, snapshot=snapshot) as uow:
            return query(uow.conn, *args)

    # registration
    def region(self, name: str, level: str = "city", parent_id: int | None = None,
               merchant_universe: int = 0) -> int:
        return self.run(registry.create_region, name, level, parent_id, merchant_universe)

    def partner(self, name: str, region_id: int, investment_fen: int) -> int:
        return self.run(registry.create_partner, name, region_id, investment_fen)

    def promoter(self, name: str, partner_id: int) -> int:
        return self.run(registry.create_promoter, name, partner_id)

    def business_manager(self, name: str) -> int:
        return self.run(registry.create_business_manager, name)

    def merchant(self, terms: registry.MerchantTerms) -> int:
        return self.run(registry.create_merchant, terms)

    def consumer(self, name: str, referrer_id: int | None = None,
                 home_merchant_id: int | None = None) -> int:
        return self.run(registry.create_consumer, name, referrer_id, home_merchant_id)

    # the consumer's consent to a voucher spend (the caller has checked it is the consumer)
    def pay_code(self, consumer_id: int, max_voucher_fen: int, merchant_id: int | None = None,
                 seconds: int = pay_codes.DEFAULT_SECONDS) -> pay_codes.IssuedPayCode:
        return self.run(pay_codes.issue, consumer_id, max_voucher_fen, merchant_id,
                        seconds=seconds)

    # value-moving writes
    def order(self, req: ordering.OrderRequest) -> ordering.OrderResult:
        return self.run(ordering.place_order, req)

    def refund(self, order_id: int, amount_fen: int, key: str, *,
               by_operator: bool = False) -> refunding.RefundResult:
        """Refund part of an order; ``by_operator`` (an admin's, not the merchant's own) is
        recorded in the audit log with this platform's actor."""
        use_case = refunding.refund_by_operator if by_operator else refunding.refund_order
        return self.run(use_case, order_id, amount_fen, key)

    def withdraw(self, party_id: int, amount_fen: int, key: str) -> payouts.PayoutResult:
        return self.run(payouts.withdraw, party_id, amount_fen, key)

    def close_period(self, expected: int | None = None, *, force_promise: bool = False,
                     key: str | None = None) -> periods.CloseSummary:
        return self.run(periods.close_period, expected, force_promise=force_promise, key=key)

    # freezes (abuse review); ``actor`` names who acted (a login or an API key)
    def freeze(self, party_id: int, *, reason: str, actor: str) -> freezes.FreezeStatus:
        def apply(uow: UnitOfWork) -> freezes.FreezeStatus:
            freezes.freeze_party(uow, party_id, reason=reason, actor=actor)
            return freezes.freeze_status(uow, party_id)
        return self.run(apply)

    def unfreeze(self, party_id: int, *, actor: str) -> freezes.FreezeStatus:
        def apply(uow: UnitOfWork) -> freezes.FreezeStatus:
            freezes.unfreeze_party(uow, party_id, actor=actor)
            return freezes.freeze_status(uow, party_id)
        return self.run(apply)

    # reads
    def wallet(self, party_id: int) -> wallets.Wallet:
        return self.run(lambda uow: wallets.wallet(uow, party_id, alone=True))

    def trial_balance(self) -> dict[Any, int]:
        return self.read(trial_balance)
