"""Wallets: points, holdings with released fraction, vouchers, projected periods to completion."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import PartyId, PlatformDep
from gongsheng.entrypoints.api.integration_access import WalletsReader
from gongsheng.entrypoints.api.schemas import WalletOut

router = APIRouter(tags=["wallets"])


@router.get("/wallets/{party_id}", response_model=WalletOut)
def read_wallet(party_id: PartyId, user: WalletsReader, platform: PlatformDep) -> WalletOut:
    """A party's wallet, settled to date (the party itself or an admin; 403 for another's)."""
    user.require_own(party_id, "this wallet")
    return WalletOut.model_validate(platform.wallet(party_id), from_attributes=True)
