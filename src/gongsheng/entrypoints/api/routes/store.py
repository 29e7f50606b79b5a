"""The shared-shareholder store (共享股东): programmes, exchanges of points for units, profits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from gongsheng.domain.errors import Forbidden
from gongsheng.entrypoints.api.deps import (
    MAX_ID,
    Before,
    CurrentUser,
    IdempotencyKey,
    Limit,
    Offset,
    PlatformDep,
)
from gongsheng.entrypoints.api.responses import REPLAYED, written
from gongsheng.entrypoints.api.schemas_parties import (
    ExchangeIn,
    ExchangeOut,
    ExchangeQuote,
    ProfitIn,
    ProfitOut,
    ProgrammeIn,
    ProgrammeList,
    ProgrammeOut,
)
from gongsheng.services import store

router = APIRouter(tags=["store"])
ProgrammeId = Annotated[int, Path(ge=1, le=MAX_ID, description="a share programme's id")]


def _party(user: object, role: str, what: str) -> int:
    party = getattr(user, "party_id", None)
    if getattr(user, "role", None) != role or party is None:
        raise Forbidden(f"only a {role} {what}")
    return int(party)


@router.get("/share-programmes", response_model=ProgrammeList)
def list_programmes(_: CurrentUser, platform: PlatformDep, limit: Limit = 50,
                    offset: Offset = 0, before: Before = None) -> ProgrammeList:
    """Programmes with units left, newest first; paged by key (``next_before``)."""
    found = platform.read(lambda c: store.open_programmes(c, limit=limit, before=before))
    return ProgrammeList(items=[ProgrammeOut(**i) for i in found.items],
                         **ProgrammeList.fields_of(found, limit))


@router.post("/share-programmes", status_code=201, response_model=ProgrammeOut)
def open_programme(body: ProgrammeIn, user: CurrentUser, platform: PlatformDep) -> ProgrammeOut:
    """Open a programme: units on offer at a price in points, for a share of profit (the merchant)."""
    merchant = _party(user, "merchant", "opens a shared-shareholder programme")
    prog = platform.run(store.open_programme_for, merchant, body.unit_price_cpts,
                        body.units_offered, body.profit_share.strip())
    fields = vars(prog)
    return ProgrammeOut(programme_id=fields.pop("id"), **fields)


@router.get("/share-programmes/{programme_id}/quote", response_model=ExchangeQuote)
def quote(programme_id: ProgrammeId, user: CurrentUser, platform: PlatformDep,
          units: Annotated[int, Query(ge=1, le=10**9)]) -> ExchangeQuote:
    """What exchanging ``units`` costs the calling consumer and the cap it forfeits; writes nothing."""
    consumer = _party(user, "consumer", "exchanges points for units")
    return ExchangeQuote(**platform.read(store.quote_exchange, consumer, programme_id, units))


@router.post("/share-programmes/{programme_id}/exchanges", status_code=201, response_model=ExchangeOut,
             responses={200: {"model": ExchangeOut, "description": REPLAYED}})
def exchange(programme_id: ProgrammeId, body: ExchangeIn, key: IdempotencyKey, user: CurrentUser,
             platform: PlatformDep) -> Response:
    """Exchange the calling consumer's unreleased points for units (their cap is forfeited)."""
    consumer = _party(user, "consumer", "exchanges points for units")
    answer, replayed = platform.run(store.exchange_keyed, consumer, programme_id, body.units, key)
    return written(ExchangeOut(**answer, replayed=replayed), replayed=replayed)


@router.post("/share-programmes/{programme_id}/profits", status_code=201, response_model=ProfitOut,
             responses={200: {"model": ProfitOut, "description": REPLAYED}})
def declare(programme_id: ProgrammeId, body: ProfitIn, key: IdempotencyKey, user: CurrentUser,
            platform: PlatformDep) -> Response:
    """Declare this period's profit (the programme's merchant); its share goes to unit holders."""
    merchant = _party(user, "merchant", "declares a programme's profit")
    answer, replayed = platform.run(store.declare_keyed, merchant, programme_id, body.profit_fen, key)
    return written(ProfitOut(**answer, replayed=replayed), replayed=replayed)
