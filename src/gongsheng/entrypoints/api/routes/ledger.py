"""The ledger's trial balance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gongsheng.domain.ledger import ACCOUNTS_PER_PARTY
from gongsheng.entrypoints.api.deps import MAX_ID, Digits, PlatformDep
from gongsheng.entrypoints.api.integration_access import PlatformReportsReader
from gongsheng.entrypoints.api.schemas import TrialBalanceOut
from gongsheng.views import reports

router = APIRouter(tags=["ledger"])


@router.get("/ledger/trial-balance", response_model=TrialBalanceOut)
def trial_balance(_: PlatformReportsReader, platform: PlatformDep,
                  limit: Annotated[int, Query(ge=1, le=5000, description="accounts per page"),
                                   Digits] = 500,
                  after: Annotated[int | None, Query(ge=0, le=MAX_ID * ACCOUNTS_PER_PARTY, description=(
                      "only accounts with a larger id (the previous page's next_after)")),
                                   Digits] = None) -> TrialBalanceOut:
    """Balance per account and asset, a page at a time by account id, with the whole ledger's
    per-kind and per-asset totals; every asset's total is zero (admin)."""
    return TrialBalanceOut(**platform.read(reports.trial_balance_report, limit, after))
