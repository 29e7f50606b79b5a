"""Freezes: an administrator freezes a party under review and unfreezes it (services.freezes)."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import ActingPlatform, AdminUser, PartyId, PlatformDep
from gongsheng.entrypoints.api.schemas_parties import FreezeIn, FreezeOut, FreezeRecordOut
from gongsheng.services.freezes import FreezeStatus, freeze_status
from gongsheng.services.unit_of_work import stores_on

router = APIRouter(tags=["freezes"])


def freeze_out(status: FreezeStatus) -> FreezeOut:
    return FreezeOut(
        party_id=status.party_id, kind=status.kind, frozen=status.frozen,
        reason=status.current.reason if status.current else None,
        history=[FreezeRecordOut(reason=f.reason, frozen_by=f.frozen_by, frozen_at=f.frozen_at,
                                 unfrozen_by=f.unfrozen_by, unfrozen_at=f.unfrozen_at)
                 for f in status.history])


@router.post("/parties/{party_id}/freeze", response_model=FreezeOut)
def freeze(party_id: PartyId, body: FreezeIn, user: AdminUser, platform: ActingPlatform) -> FreezeOut:
    """Freeze a party with a reason (admin); freezing a frozen party changes nothing."""
    return freeze_out(platform.freeze(party_id, reason=body.reason, actor=user.username))


@router.post("/parties/{party_id}/unfreeze", response_model=FreezeOut)
def unfreeze(party_id: PartyId, user: AdminUser, platform: ActingPlatform) -> FreezeOut:
    """Unfreeze a party (admin): it resumes with everything it accrued while frozen."""
    return freeze_out(platform.unfreeze(party_id, actor=user.username))


@router.get("/parties/{party_id}/freeze", response_model=FreezeOut)
def read_freeze(party_id: PartyId, user: AdminUser, platform: PlatformDep) -> FreezeOut:
    """Whether a party is frozen, and its freezes (admin)."""
    return freeze_out(platform.read(lambda conn: freeze_status(stores_on(conn), party_id)))
