"""Where invitations are kept (``tables.invitations``: a token's hash, never the token)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.domain.invitations import StoredInvitation

_i = t.invitations


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes: they were stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class SqlInvitationStore:
    """:class:`~gongsheng.services.ports.invitations.InvitationStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def has_login(self, party_id: int) -> bool:
        return self.conn.execute(select(t.users.c.id)
                                 .where(t.users.c.party_id == party_id)).first() is not None

    def add(self, token_hash: str, role: str, party_id: int, created_by: str,
            expires_at: dt.datetime) -> int:
        return int(self.conn.execute(insert(_i).returning(_i.c.id), {
            "token_hash": token_hash, "role": role, "party_id": party_id,
            "created_by": created_by, "expires_at": expires_at}).scalar_one())

    def by_token_hash(self, token_hash: str) -> StoredInvitation | None:
        row = self.conn.execute(
            select(_i.c.id, _i.c.role, _i.c.party_id, _i.c.expires_at, _i.c.used_at, t.parties.c.name)
            .select_from(_i.outerjoin(t.parties, t.parties.c.id == _i.c.party_id))
            .where(_i.c.token_hash == token_hash)).first()
        if row is None:
            return None
        return StoredInvitation(int(row.id), str(row.role),
                                None if row.party_id is None else int(row.party_id), row.name,
                                _aware(row.expires_at), row.used_at is not None)

    def spend(self, invitation_id: int, at: dt.datetime) -> bool:
        return self.conn.execute(update(_i).where(_i.c.id == invitation_id, _i.c.used_at.is_(None))
                                 .values(used_at=at)).rowcount == 1

    def bind_login(self, invitation_id: int, user_id: int) -> None:
        self.conn.execute(update(_i).where(_i.c.id == invitation_id).values(user_id=user_id))
