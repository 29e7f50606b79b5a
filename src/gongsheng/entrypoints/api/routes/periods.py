"""Periods (期): closing the open one releases vouchers at the period's rate."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks

from gongsheng.entrypoints.api.deps import ActingPlatform, AdminUser, IdempotencyKey
from gongsheng.entrypoints.api.observability.metrics import count_close
from gongsheng.entrypoints.api.schemas import CloseIn, CloseOut

router = APIRouter(tags=["periods"])


@router.post("/periods/close", response_model=CloseOut)
def close_period(_: AdminUser, platform: ActingPlatform, key: IdempotencyKey, tasks: BackgroundTasks,
                 body: CloseIn | None = None) -> CloseOut:
    """Close the open period (admin); a repeated key (or ``period``) returns the stored summary.

    After the response, the forecast is refreshed and stored when one is due.
    """
    summary = platform.close_period(body.period if body is not None else None, key=key)
    count_close(summary.released_fen, already_closed=summary.already_closed)
    if not summary.already_closed:
        from gongsheng.entrypoints.forecasting import refresh_quietly

        tasks.add_task(refresh_quietly, platform)
    return CloseOut.model_validate(summary, from_attributes=True)
