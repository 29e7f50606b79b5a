"""Opening the books: schema, the platform party, the first period, policy versions.

Invariants: party 1 is the platform; exactly one period is open at any time; every period
names the policy version its orders use, and a stored policy version never changes (a new
policy is a new version, activated from the next period).
"""

from __future__ import annotations

import datetime as dt

from gongsheng.adapters.database import migrated_engine
from gongsheng.adapters.policy_file import load_policy
from gongsheng.domain.errors import PolicyError
from gongsheng.domain.ledger import PLATFORM_PARTY_ID
from gongsheng.domain.periods import OpenPeriod, period_end
from gongsheng.domain.policy import Policy
from gongsheng.services.ports.policies import PolicyStore
from gongsheng.services.ports.work import Stores
from gongsheng.services.unit_of_work import Engine, UnitOfWork

__all__ = ["check_live_policy", "open_books", "policy_in_force", "schedule_policy", "store_policy"]


def open_books(url: str | None = None, policy: Policy | None = None) -> Engine:
    """An engine on a migrated database with the platform and an open period; safe to repeat."""
    engine = migrated_engine(url)
    with UnitOfWork(engine) as uow:
        if uow.parties.kind(PLATFORM_PARTY_ID) is None:
            uow.parties.add_with_id(PLATFORM_PARTY_ID, "platform", "platform")
        if uow.periods.period(1) is None:  # periods are numbered from 1 without gaps: none yet
            version = store_policy(uow.policies, policy or load_policy())
            start = dt.date.today()
            uow.periods.open_next(1, start, period_end(start, (policy or load_policy()).release.period),
                                  version)
        uow.commit()
    return engine


def check_live_policy(policy: Policy) -> None:
    """Refuse settings the live engine does not apply, rather than silently ignore them.

    The anti-farming valve caps each holder's release by its own spending in the period: a
    per-holder rate, which the one-rate-per-group release (O(groups) closes, lazy settlement)
    cannot apply exactly. Until it has a lazy form it is refused, here and in the simulator.
    """
    if policy.release.holder_spend_cap_multiple is not None:
        raise PolicyError(
            "policy: release.holder_spend_cap_multiple (the per-holder anti-farming valve) is not "
            "supported by the live engine; leave it empty")


def store_policy(policies: PolicyStore, policy: Policy) -> int:
    """The id of the stored version with this policy's content, storing it when new."""
    check_live_policy(policy)
    found = policies.by_digest(policy.digest)
    if found is not None:
        return found
    return policies.add(policy)


def policy_in_force(stores: Stores) -> tuple[OpenPeriod, Policy]:
    """The open period and the policy version it runs on."""
    period = stores.periods.open_period()
    return period, stores.policies.version(period.policy_version_id)


def schedule_policy(stores: Stores, policy: Policy) -> tuple[int, int]:
    """Store a policy version and make it apply from the next period; ``(version, period)``."""
    version = store_policy(stores.policies, policy)
    period = stores.periods.open_period()
    stores.policies.schedule(version, period.seq + 1)
    return version, period.seq + 1
