"""Where login accounts are kept (``tables.users``) and the database's identity.

The identity is one row (``database_identity``), made at first use; concurrent first uses
insert-or-ignore, then read the one row that won, so every caller sees the same id.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import dialect_insert
from gongsheng.domain.accounts import NewAccount, StoredAccount

IDENTITY_BYTES = 16
_u = t.users


def database_id(conn: Connection) -> str:
    """The database's random identity, made at first use (concurrent first uses agree)."""
    ident = t.database_identity
    found = conn.execute(select(ident.c.database_id)).scalar()
    if found is not None:
        return str(found)
    made = secrets.token_hex(IDENTITY_BYTES)
    conn.execute(dialect_insert(conn, ident).values(singleton=1, database_id=made).on_conflict_do_nothing())
    return str(conn.execute(select(ident.c.database_id)).scalar_one())


def _stored(row: Any) -> StoredAccount | None:
    if row is None:
        return None
    return StoredAccount(int(row.id), str(row.username), str(row.role),
                         None if row.party_id is None else int(row.party_id),
                         int(row.session_generation), str(row.password_hash), bool(row.disabled))


class SqlAccountStore:
    """:class:`~gongsheng.services.ports.accounts.AccountStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def name_taken(self, username: str, username_key: str) -> bool:
        return self.conn.execute(select(_u.c.id).where(or_(
            _u.c.username_key == username_key, _u.c.username == username))).first() is not None

    def keys_taken(self, username_keys: Sequence[str]) -> set[str]:
        return {str(k) for k in self.conn.execute(
            select(_u.c.username_key).where(_u.c.username_key.in_(list(username_keys)))).scalars()}

    def add(self, account: NewAccount) -> int:
        return int(self.conn.execute(insert(_u).returning(_u.c.id), asdict(account)).scalar_one())

    def add_many(self, accounts: Iterable[NewAccount]) -> None:
        rows = [asdict(a) for a in accounts]
        if rows:
            self.conn.execute(insert(_u), rows)

    def find(self, username: str, username_key: str) -> StoredAccount | None:
        return _stored(self.conn.execute(
            select(_u).where(or_(_u.c.username == username, _u.c.username_key == username_key))
            .order_by((_u.c.username == username).desc()).limit(1)).first())

    def by_id(self, account_id: int) -> StoredAccount | None:
        return _stored(self.conn.execute(select(_u).where(_u.c.id == account_id)).first())

    def session(self, account_id: int) -> tuple[int, bool] | None:
        row = self.conn.execute(select(_u.c.session_generation, _u.c.disabled)
                                .where(_u.c.id == account_id)).first()
        return None if row is None else (int(row.session_generation), bool(row.disabled))

    def end_sessions(self, account_id: int) -> None:
        self.conn.execute(update(_u).where(_u.c.id == account_id)
                          .values(session_generation=_u.c.session_generation + 1))

    def set_password(self, account_id: int, password_hash: str) -> None:
        self.conn.execute(update(_u).where(_u.c.id == account_id).values(
            password_hash=password_hash, session_generation=_u.c.session_generation + 1))

    def set_disabled(self, account_id: int, disabled: bool) -> None:
        changes: dict[str, object] = {"disabled": disabled}
        if disabled:
            changes["session_generation"] = _u.c.session_generation + 1
        self.conn.execute(update(_u).where(_u.c.id == account_id).values(changes))

    def database_id(self) -> str:
        return database_id(self.conn)

    def demo_role(self, username: str) -> str | None:
        role = self.conn.execute(select(_u.c.role).where(_u.c.username == username, _u.c.demo)).scalar()
        return None if role is None else str(role)

    def set_demo_password(self, username: str, password_hash: str) -> None:
        self.conn.execute(update(_u).where(_u.c.username == username).values(
            password_hash=password_hash, session_generation=_u.c.session_generation + 1))

    def demo_logins_sharing_a_password(self) -> list[str]:
        shared = select(_u.c.password_hash).group_by(_u.c.password_hash).having(func.count() > 1)
        return [str(n) for n in self.conn.execute(
            select(_u.c.username).where(_u.c.demo, _u.c.password_hash.in_(shared))
            .order_by(_u.c.id)).scalars()]

    def demo_logins(self) -> list[tuple[str, str, int | None]]:
        return [(str(n), str(r), None if p is None else int(p)) for n, r, p in self.conn.execute(
            select(_u.c.username, _u.c.role, _u.c.party_id).where(_u.c.demo).order_by(_u.c.id)).all()]

    def demo_login_count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(_u).where(_u.c.demo)).scalar_one())

    def parties_without_login(self) -> list[tuple[int, str]]:
        p = t.parties
        return [(int(pid), str(kind)) for pid, kind in self.conn.execute(
            select(p.c.id, p.c.kind).select_from(p.outerjoin(_u, _u.c.party_id == p.c.id))
            .where(p.c.kind != "platform", _u.c.id.is_(None)).order_by(p.c.id)).all()]

    def has_login(self, username: str) -> bool:
        return self.conn.execute(select(_u.c.id).where(_u.c.username == username)).first() is not None


__all__ = ["SqlAccountStore", "database_id"]
