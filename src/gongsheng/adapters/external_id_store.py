"""Where parties' external ids are kept: a unique, nullable column of ``parties``."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, select, update

from gongsheng.adapters import tables as t
from gongsheng.adapters.pg_arrays import among

_p = t.parties


class SqlExternalIdStore:
    """:class:`~gongsheng.services.ports.external_ids.ExternalIdStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def parties_named(self, external_ids: Collection[str]) -> dict[str, tuple[int, str]]:
        if not external_ids:
            return {}
        return {str(r.external_id): (int(r.id), str(r.kind)) for r in self.conn.execute(
            select(_p.c.id, _p.c.kind, _p.c.external_id)
            .where(among(self.conn, _p.c.external_id, sorted(external_ids))))}

    def links(self, party_ids: Collection[int],
              external_ids: Collection[str]) -> dict[int, str | None]:
        rows = self.conn.execute(select(_p.c.id, _p.c.external_id).where(
            _p.c.id.in_(sorted(party_ids)) | _p.c.external_id.in_(sorted(external_ids)))).all()
        return {int(r.id): r.external_id for r in rows}

    def link(self, party_id: int, external_id: str) -> None:
        self.conn.execute(update(_p).where(_p.c.id == party_id).values(external_id=external_id))


__all__ = ["SqlExternalIdStore"]
