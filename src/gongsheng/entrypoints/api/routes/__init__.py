"""One router per resource; :data:`ROUTERS` is what ``create_app`` mounts under ``/api/v1``."""

from __future__ import annotations

from gongsheng.entrypoints.api.routes import (
    api_keys,
    audit,
    auth,
    business_managers,
    cases,
    cashier,
    consumers,
    directory,
    events,
    freezes,
    invitations,
    ledger,
    merchants,
    orders,
    partners,
    payouts,
    periods,
    policy,
    promoters,
    quotes,
    regions,
    reports,
    risk,
    signings,
    statements,
    store,
    wallets,
    webhooks,
)

# Routes are matched in this order, one by one: the orders (the busiest by far) come first.
ROUTERS = [orders.router, auth.router, regions.router, partners.router, promoters.router,
           business_managers.router, merchants.router, consumers.router, wallets.router,
           payouts.router, statements.router, periods.router, reports.router, ledger.router,
           policy.router, risk.router, invitations.router, signings.router, store.router,
           directory.router, cashier.router]

ROUTERS.insert(0, quotes.router)  # before /orders/{order_id}: the quote is matched first
ROUTERS += [events.router, webhooks.router,  # integration: the event feed, webhooks, keys
            api_keys.router]
ROUTERS += [cases.router]  # integrity: abuse cases
ROUTERS.append(audit.router)  # integrity: the audit trail
ROUTERS.append(freezes.router)  # integrity: freezes of parties under review
