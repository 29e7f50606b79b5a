"""Where policy versions are kept (``tables.policy_versions``): stored once, never changed."""

from __future__ import annotations

import weakref
from collections.abc import Mapping

from sqlalchemy import Connection, Engine, func, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.policy_file import policy_from_json
from gongsheng.domain.errors import NotFound
from gongsheng.domain.policy import Policy

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
