"""Where policy versions are kept (``tables.policy_versions``): stored once, never changed."""

from __future__ import annotations

import weakref
from collections.abc import Mapping

from sqlalchemy import Connection, Engine, func, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.period_store import open_period
from gongsheng.adapters.policy_file import policy_from_json, policy_to_json
from gongsheng.domain.errors import NotFound
from gongsheng.domain.periods import OpenPeriod
from gongsheng.domain.policy import Policy
from gongsheng.domain.policy_versions import StoredVersion

_v = t.policy_versions

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
        body = conn.execute(select(_v.c.body).where(_v.c.id == version_id)).scalar_one_or_none()
        if body is None:
            raise NotFound(f"policy version {version_id} does not exist")
        policy = cache[version_id] = policy_from_json(body)
    return policy


def read_policies(conn: Connection) -> Mapping[int, Policy]:
    """The policy versions :func:`policy_version` has read through this connection's engine, by
    id (what an order may know of a version before it reads the period): a copy, which another
    thread reading a version meanwhile leaves alone."""
    return dict(_policies.get(conn.engine, {}))


def current_policy(conn: Connection) -> tuple[OpenPeriod, Policy]:
    """The open period and the policy it runs on."""
    period = open_period(conn)
    return period, policy_version(conn, period.policy_version_id)


class SqlPolicyStore:
    """:class:`~gongsheng.services.ports.policies.PolicyStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def version(self, version_id: int) -> Policy:
        return policy_version(self.conn, version_id)

    def latest_active_by(self, period: int) -> int | None:
        found = self.conn.execute(select(func.max(_v.c.id)).where(
            _v.c.active_from_period.is_not(None), _v.c.active_from_period <= period)).scalar()
        return None if found is None else int(found)

    def by_digest(self, digest: str) -> int | None:
        found = self.conn.execute(select(_v.c.id).where(_v.c.digest == digest)).scalar_one_or_none()
        return None if found is None else int(found)

    def add(self, policy: Policy) -> int:
        return int(self.conn.execute(insert(_v).returning(_v.c.id), {
            "digest": policy.digest, "name": policy.name, "body": policy_to_json(policy)}).scalar_one())

    def schedule(self, version_id: int, period: int) -> None:
        self.conn.execute(update(_v).where(_v.c.id == version_id).values(active_from_period=period))

    def listed(self) -> list[StoredVersion]:
        rows = self.conn.execute(select(_v.c.id, _v.c.name, _v.c.digest, _v.c.active_from_period,
                                        _v.c.created_at).order_by(_v.c.id)).all()
        return [StoredVersion(int(r.id), r.name, r.digest, r.active_from_period,
                              str(r.created_at) if r.created_at is not None else None)
                for r in rows]
