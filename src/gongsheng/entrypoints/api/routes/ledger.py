"""The ledger's trial balance."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import PlatformDep
from gongsheng.entrypoints.api.integration_access import PlatformReportsReader
from gongsheng.entrypoints.api.schemas import TrialBalanceOut
from gongsheng.services import reports

router = APIRouter(tags=["ledger"])


@router.get("/ledger/trial-balance", response_model=TrialBalanceOut)
def trial_balance(_: PlatformReportsReader, platform: PlatformDep) -> TrialBalanceOut:
    """Balance per account and asset; every asset's total is zero (admin)."""
    return TrialBalanceOut(**platform.read(reports.trial_balance_report))
