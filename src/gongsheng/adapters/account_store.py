"""Login accounts as stored, where a database difference is involved: the database's identity.

The identity is one row (``database_identity``), made at first use; concurrent first uses
insert-or-ignore, then read the one row that won, so every caller sees the same id.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import dialect_insert

IDENTITY_BYTES = 16


def database_id(conn: Connection) -> str:
    """The database's random identity, made at first use (concurrent first uses agree)."""
    ident = t.database_identity
    found = conn.execute(select(ident.c.database_id)).scalar()
    if found is not None:
        return str(found)
    made = secrets.token_hex(IDENTITY_BYTES)
    conn.execute(dialect_insert(conn, ident).values(singleton=1, database_id=made).on_conflict_do_nothing())
    return str(conn.execute(select(ident.c.database_id)).scalar_one())


__all__ = ["database_id"]
