"""Where signings of merchants are kept (``tables.merchant_signings``), and the region tree
and promoters' partners a signing is checked against."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, insert, select, update

from gongsheng.adapters import tables as t
from gongsheng.domain.signings import Signing

_s = t.merchant_signings


class SqlSigningStore:
    """:class:`~gongsheng.services.ports.signing.SigningStore` on a connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def promoter_region(self, promoter_id: int) -> tuple[int, bool] | None:
        row = self.conn.execute(
            select(t.partners.c.region_id, t.partners.c.active)
            .select_from(t.promoters.join(t.partners, t.partners.c.party_id == t.promoters.c.partner_id))
            .where(t.promoters.c.party_id == promoter_id)).first()
        return None if row is None else (int(row.region_id), bool(row.active))

    def parent_region(self, region_id: int) -> int | None:
        parent = self.conn.execute(select(t.regions.c.parent_id)
                                   .where(t.regions.c.id == region_id)).scalar()
        return None if parent is None else int(parent)

    def add(self, merchant_id: int, signer_role: str, signer_id: int | None) -> None:
        self.conn.execute(insert(_s), {"merchant_id": merchant_id, "status": "pending",
                                       "signer_role": signer_role, "signer_id": signer_id})

    def signing(self, merchant_id: int) -> Signing | None:
        row = self.conn.execute(
            select(_s.c.merchant_id, _s.c.status, t.merchants.c.channel, t.merchants.c.region_id)
            .select_from(_s.join(t.merchants, t.merchants.c.party_id == _s.c.merchant_id))
            .where(_s.c.merchant_id == merchant_id)).first()
        if row is None:
            return None
        return Signing(int(row.merchant_id), str(row.status), str(row.channel), int(row.region_id))

    def decide(self, merchant_id: int, status: str, by: str, reason: str | None) -> bool:
        return self.conn.execute(
            update(_s).where(_s.c.merchant_id == merchant_id, _s.c.status == "pending")
            .values(status=status, decided_by=by, reason=reason,
                    decided_at=dt.datetime.now(dt.UTC))).rowcount == 1

    def activate(self, merchant_id: int) -> None:
        self.conn.execute(update(t.merchants).where(t.merchants.c.party_id == merchant_id)
                          .values(active=True))
