"""Statements: a party's commissions, dividends, points and vouchers per period."""

from __future__ import annotations

from fastapi import APIRouter

from gongsheng.entrypoints.api.deps import PartyId, PlatformDep
from gongsheng.entrypoints.api.integration_access import ReportsReader
from gongsheng.entrypoints.api.schemas import StatementOut
from gongsheng.views import reports

router = APIRouter(tags=["statements"])


@router.get("/statements/{party_id}", response_model=StatementOut)
def read_statement(party_id: PartyId, user: ReportsReader, platform: PlatformDep) -> StatementOut:
    """What a party earned, had reversed and withdrew, per period (itself or an admin)."""
    user.require_own(party_id, "this statement")
    return StatementOut(**platform.read(reports.statement, party_id))
