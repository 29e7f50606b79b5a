"""Wiring the forecast: the books (services) read, the simulator (sim) run, the result stored.

Entry points are the only layer that sees both the services and the simulator, so the three
uses of a forecast meet here:

- :func:`refresh`: after a close has committed, compute the forecast from the books and store it
  (``services.forecast_store``) when one is due. Called by ``gongsheng period close``, the API's
  close route (after the response) and ``gongsheng demo``; never inside the close transaction.
  Its size comes from ``GONGSHENG_FORECAST_RUNS`` (default 100) and
  ``GONGSHENG_FORECAST_PERIODS`` (default 24); ``GONGSHENG_FORECAST_RUNS=0`` switches it off.
- :func:`compute`: one forecast (``gongsheng forecast``), optionally under another policy.
- :func:`preview`: the forecast under a new policy beside the current one, same seeds, writing
  nothing (``gongsheng policy preview``, ``POST /api/v1/policy/versions?dry_run=true``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from gongsheng.domain.policy import Policy
from gongsheng.domain.snapshot import BooksSnapshot
from gongsheng.services import forecast_store
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork, stores_on
from gongsheng.sim.forecast import Forecast, headline, holdings_bands, outlook_band, run_forecast, summary
from gongsheng.views.forecast import snapshot


def refresh_size() -> tuple[int, int]:
    """``(runs, periods)`` of the forecast stored after a close (environment, else 100 x 24)."""
    return (int(os.environ.get("GONGSHENG_FORECAST_RUNS", "100")),
            int(os.environ.get("GONGSHENG_FORECAST_PERIODS", "24")))


def compute(snap: BooksSnapshot, periods: int, runs: int, seed: int,
            policy: Mapping[str, Any] | None = None,
            progress: Callable[[int], None] | None = None,
            workers: int = 1) -> tuple[Forecast, dict[str, Any], dict[str, Any]]:
    """``(forecast, summary, holdings bands)`` of the books in ``snap`` (runs over ``workers``
    local processes)."""
    fc = run_forecast(snap, periods, runs, seed, policy, progress=progress, workers=workers)
    return fc, summary(fc), holdings_bands(fc)


def store(plat: Platform, snap: BooksSnapshot, fc: Forecast, doc: Mapping[str, Any],
          holdings: Mapping[str, Any]) -> int:
    """Store a computed forecast as the books' newest one."""
    def write(uow: UnitOfWork) -> int:
        return forecast_store.store(
            uow, period=snap.period, policy_digest=snap.policy_digest, runs=len(fc.runs),
            horizon=fc.periods, seed=fc.seed, summary=doc, holdings=holdings,
            outlook={"inflow_low_fen": outlook_band(snap)})
    return plat.run(write)


def refresh(plat: Platform, *, force: bool = False, seed: int = 0) -> dict[str, Any] | None:
    """Compute and store the forecast if one is due (or ``force``); the summary stored, or None."""
    runs, periods = refresh_size()
    if runs <= 0 or not (force or plat.read(lambda conn: forecast_store.due(stores_on(conn)))):
        return None
    snap = plat.read(snapshot)
    if not snap.history:
        return None
    fc, doc, holdings = compute(snap, periods, runs, seed)
    store(plat, snap, fc, doc, holdings)
    return doc


def refresh_quietly(plat: Platform) -> None:
    """:func:`refresh` for a background task: a failure is logged, never raised into the server."""
    try:
        refresh(plat)
    except Exception:  # the close has committed; a missing forecast is only stale, never wrong
        logging.getLogger("gongsheng.forecast").exception("forecast refresh failed")


def preview(plat: Platform, policy: Policy, *, periods: int = 24, runs: int = 50,
            seed: int = 0) -> dict[str, Any]:
    """The forecast under ``policy`` beside the current one (common seeds); writes nothing."""
    snap = plat.read(snapshot)
    _, now, _ = compute(snap, periods, runs, seed)
    _, new, _ = compute(snap, periods, runs, seed, policy=dict(policy.source))
    return {"dry_run": True, "policy": {"name": policy.name, "digest": policy.digest},
            "starts_at_period": snap.period, "periods": periods, "runs": runs, "seed": seed,
            "current": headline(now), "proposed": headline(new),
            "note": "projections from the books under each policy, not promises; nothing was stored"}


__all__ = ["compute", "preview", "refresh", "refresh_quietly", "refresh_size", "store"]
