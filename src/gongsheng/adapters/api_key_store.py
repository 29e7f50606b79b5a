"""The ``api_keys`` table: insert, list, revoke, find by lookup id, and note a use
(:class:`SqlApiKeyStore`, the port's implementation on a connection).

:func:`key_by_lookup` is the one read that verifying a key costs (the unique index on
``lookup``); :func:`note_use` is a conditional update that writes only when the stored
``last_used_ms`` is older than the resolution, so concurrent requests of one key write it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, update
from sqlalchemy.exc import OperationalError

from gongsheng.adapters import tables as t

K = t.api_keys


def insert_key(conn: Connection, *, lookup: str, secret_digest: str, label: str,
               party_id: int | None, scopes: Iterable[str], rate_limit: str | None,
               expires_ms: int | None, created_by: int | None) -> int:
    """A new key's row; its id."""
    return int(conn.execute(insert(K).returning(K.c.id), {
        "lookup": lookup, "secret_digest": secret_digest, "label": label, "party_id": party_id,
        "scopes": " ".join(sorted(scopes)), "rate_limit": rate_limit, "expires_ms": expires_ms,
        "created_by": created_by}).scalar_one())


def key_row(conn: Connection, key_id: int) -> Any:
    """The key with this id (None when unknown)."""
    return conn.execute(select(K).where(K.c.id == key_id)).first()


def key_rows(conn: Connection, *, include_revoked: bool = True) -> list[Any]:
    """Every key, oldest first."""
    query = select(K).order_by(K.c.id)
    if not include_revoked:
        query = query.where(K.c.revoked_ms.is_(None))
    return list(conn.execute(query))


def key_by_lookup(conn: Connection, lookup: str) -> Any:
    """The key a bearer credential names, with its party's kind (None when unknown)."""
    query = (select(K.c.id, K.c.lookup, K.c.secret_digest, K.c.label, K.c.party_id, K.c.scopes,
                    K.c.rate_limit, K.c.expires_ms, K.c.revoked_ms, K.c.last_used_ms,
                    t.parties.c.kind.label("party_kind"))
             .select_from(K.outerjoin(t.parties, t.parties.c.id == K.c.party_id))
             .where(K.c.lookup == lookup))
    return conn.execute(query).first()


def revoke(conn: Connection, key_id: int, now_ms: int) -> None:
    """Mark a key revoked at ``now_ms`` (a key revoked before keeps its first time)."""
    conn.execute(update(K).where(K.c.id == key_id, K.c.revoked_ms.is_(None))
                 .values(revoked_ms=now_ms))


def note_use(conn: Connection, key_id: int, now_ms: int, resolution_ms: int) -> None:
    """Set ``last_used_ms`` to ``now_ms`` unless it was set within ``resolution_ms``."""
    conn.execute(update(K).where(K.c.id == key_id, or_(
        K.c.last_used_ms.is_(None), K.c.last_used_ms <= now_ms - resolution_ms))
        .values(last_used_ms=now_ms))


def note_use_unless_busy(engine: Engine, key_id: int, now_ms: int, resolution_ms: int) -> None:
    """:func:`note_use` in a transaction of its own, given up when the database is busy (a
    note is a hint: the key's next use a resolution later notes it)."""
    try:
        with engine.begin() as conn:
            note_use(conn, key_id, now_ms, resolution_ms)
    except OperationalError:
        pass


class SqlApiKeyStore:
    """:class:`~gongsheng.services.ports.api_keys.ApiKeyStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, *, lookup: str, secret_digest: str, label: str, party_id: int | None,
            scopes: Iterable[str], rate_limit: str | None, expires_ms: int | None,
            created_by: int | None) -> int:
        return insert_key(self.conn, lookup=lookup, secret_digest=secret_digest, label=label,
                          party_id=party_id, scopes=scopes, rate_limit=rate_limit,
                          expires_ms=expires_ms, created_by=created_by)

    def key(self, key_id: int) -> Any:
        return key_row(self.conn, key_id)

    def keys(self, *, include_revoked: bool = True) -> list[Any]:
        return key_rows(self.conn, include_revoked=include_revoked)

    def by_lookup(self, lookup: str) -> Any:
        return key_by_lookup(self.conn, lookup)

    def revoke(self, key_id: int, now_ms: int) -> None:
        revoke(self.conn, key_id, now_ms)
