"""A wallet's first read: the party's kind, the open period and the last release rate, in one
statement after the books lock."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.locks import lock_books

_p = t.periods
_PARTY_AND_PERIOD = (  # the party's kind, the open period, the last period's release rate
    select(t.parties.c.kind,
           select(_p.c.seq).where(_p.c.status == "open").scalar_subquery(),
           select(_p.c.release_rate).where(_p.c.status == "closed")
           .order_by(_p.c.seq.desc()).limit(1).scalar_subquery())
    .where(t.parties.c.id == bindparam("party"))
)


class SqlWalletStore:
    """:class:`~gongsheng.services.ports.wallets.WalletStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def settling(self, party_id: int, *, alone: bool = False) -> tuple[str, int, int] | None:
        lock_books(self.conn, derived_only=alone)  # the settlement is stamped with the open period
        row = self.conn.execute(_PARTY_AND_PERIOD, {"party": party_id}).first()
        return None if row is None else (str(row[0]), int(row[1]), int(row[2] or 0))


__all__ = ["SqlWalletStore"]
