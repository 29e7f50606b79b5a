"""Opening the books: schema, the platform party, the first period, policy versions.

Invariants: party 1 is the platform; exactly one period is open at any time; every period
names the policy version its orders use, and a stored policy version never changes (a new
policy is a new version, activated from the next period).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, func, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.database import make_engine, migrate
from gongsheng.adapters.party_store import add_party_with_id
from gongsheng.adapters.period_store import add_counters, counters, open_period
from gongsheng.adapters.policy_file import load_policy, policy_to_json
from gongsheng.adapters.policy_store import policy_version, read_policies
from gongsheng.domain.errors import PolicyError
from gongsheng.domain.ledger import PLATFORM_PARTY_ID
from gongsheng.domain.periods import LIFETIME, OpenPeriod, period_end
from gongsheng.domain.policy import Policy
from gongsheng.services.unit_of_work import UnitOfWork

__all__ = ["LIFETIME", "OpenPeriod", "add_counters", "check_live_policy", "counters",
           "current_policy", "open_books", "open_period", "period_end", "policy_version",
           "read_policies",
           "schedule_policy", "store_policy"]


def open_books(url: str | None = None, policy: Policy | None = None) -> Engine:
    """An engine on a migrated database with the platform and an open period; safe to repeat."""
    engine = make_engine(url)
    migrate(engine)
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        if conn.execute(select(t.parties.c.id).where(t.parties.c.id == PLATFORM_PARTY_ID)).first() is None:
            add_party_with_id(conn, PLATFORM_PARTY_ID, "platform", "platform")
        if conn.execute(select(func.count()).select_from(t.periods)).scalar_one() == 0:
            version = store_policy(conn, policy or load_policy())
            start = dt.date.today()
            conn.execute(insert(t.periods), {
                "seq": 1, "starts_on": start.isoformat(),
                "ends_on": period_end(start, (policy or load_policy()).release.period).isoformat(),
                "status": "open", "policy_version_id": version})
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


def store_policy(conn: Connection, policy: Policy) -> int:
    """The id of the stored version with this policy's content, storing it when new."""
    check_live_policy(policy)
    found = conn.execute(
        select(t.policy_versions.c.id).where(t.policy_versions.c.digest == policy.digest)
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    return int(conn.execute(
        insert(t.policy_versions).returning(t.policy_versions.c.id),
        {"digest": policy.digest, "name": policy.name, "body": policy_to_json(policy)},
    ).scalar_one())


def current_policy(conn: Connection) -> tuple[OpenPeriod, Policy]:
    period = open_period(conn)
    return period, policy_version(conn, period.policy_version_id)


def schedule_policy(conn: Connection, policy: Policy) -> tuple[int, int]:
    """Store a policy version and make it apply from the next period; ``(version, period)``."""
    version = store_policy(conn, policy)
    period = open_period(conn)
    conn.execute(update(t.policy_versions).where(t.policy_versions.c.id == version)
                 .values(active_from_period=period.seq + 1))
    return version, period.seq + 1
