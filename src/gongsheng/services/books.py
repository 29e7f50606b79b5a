"""Opening the books: schema, the platform party, the first period, policy versions.

Invariants: party 1 is the platform; exactly one period is open at any time; every period
names the policy version its orders use, and a stored policy version never changes (a new
policy is a new version, activated from the next period).
"""

from __future__ import annotations

import datetime as dt
import random
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import upsert_add
from gongsheng.adapters.database import make_engine, migrate
from gongsheng.adapters.party_store import add_party_with_id
from gongsheng.adapters.policy_file import load_policy, policy_from_json, policy_to_json
from gongsheng.domain.errors import NotFound, PolicyError
from gongsheng.domain.ledger import PLATFORM_PARTY_ID
from gongsheng.domain.policy import PeriodUnit, Policy
from gongsheng.services.unit_of_work import UnitOfWork

LIFETIME = 0
"""The ``period_counters`` period that holds lifetime counters (registrations)."""

_stripe_rng = random.Random()


@dataclass(frozen=True)
class OpenPeriod:
    seq: int
    policy_version_id: int
    starts_on: str


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


def period_end(start: dt.date, unit: PeriodUnit) -> dt.date:
    """The first day after a period starting on ``start``."""
    if unit is PeriodUnit.DAY:
        return start + dt.timedelta(days=1)
    if unit is PeriodUnit.WEEK:
        return start + dt.timedelta(days=7)
    month = start.month % 12 + 1
    year = start.year + (start.month == 12)
    day = min(start.day, 28)
    return dt.date(year, month, day)


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


_policies: weakref.WeakKeyDictionary[Engine, dict[int, Policy]] = weakref.WeakKeyDictionary()
"""Parsed policy versions per engine. Keyed by the engine object, not its URL: a database
dropped and made again at the same URL is opened with a new engine, and so with an empty cache
(its version 1 may be another policy); the entry goes with the engine."""


def policy_version(conn: Connection, version_id: int) -> Policy:
    """The policy of a stored version (cached per engine: a stored version never changes)."""
    cache = _policies.get(conn.engine)
    if cache is None:
        cache = _policies.setdefault(conn.engine, {})
    policy = cache.get(version_id)
    if policy is None:
        body = conn.execute(
            select(t.policy_versions.c.body).where(t.policy_versions.c.id == version_id)
        ).scalar_one_or_none()
        if body is None:
            raise NotFound(f"policy version {version_id} does not exist")
        policy = cache[version_id] = policy_from_json(body)
    return policy


def read_policies(conn: Connection) -> Mapping[int, Policy]:
    """The policy versions :func:`policy_version` has read through this connection's engine, by
    id (what an order may know of a version before it reads the period): a copy, which another
    thread reading a version meanwhile leaves alone."""
    return dict(_policies.get(conn.engine, {}))


def open_period(conn: Connection) -> OpenPeriod:
    row = conn.execute(
        select(t.periods.c.seq, t.periods.c.policy_version_id, t.periods.c.starts_on)
        .where(t.periods.c.status == "open")
    ).first()
    if row is None:
        raise NotFound("the books have no open period (run a migration / open the books first)")
    return OpenPeriod(int(row[0]), int(row[1]), str(row[2]))


def current_policy(conn: Connection) -> tuple[OpenPeriod, Policy]:
    period = open_period(conn)
    return period, policy_version(conn, period.policy_version_id)


def add_counters(conn: Connection, period: int, values: Mapping[str, int]) -> None:
    """Add to named counters of a period (striped rows; O(1) per counter)."""
    stripe = _stripe_rng.randrange(t.STRIPES)
    rows = [(period, name, stripe, int(v)) for name, v in values.items() if v]
    upsert_add(conn, t.period_counters, ("period", "name", "stripe"), ("value",), rows)


def counters(conn: Connection, period: int) -> dict[str, int]:
    """All counters of a period, summed over stripes."""
    rows = conn.execute(
        select(t.period_counters.c.name, func.sum(t.period_counters.c.value))
        .where(t.period_counters.c.period == period)
        .group_by(t.period_counters.c.name)
    ).all()
    return {str(n): int(v) for n, v in rows}


def schedule_policy(conn: Connection, policy: Policy) -> tuple[int, int]:
    """Store a policy version and make it apply from the next period; ``(version, period)``."""
    version = store_policy(conn, policy)
    period = open_period(conn)
    conn.execute(update(t.policy_versions).where(t.policy_versions.c.id == version)
                 .values(active_from_period=period.seq + 1))
    return version, period.seq + 1
