"""The stored forecast (预测): written after a close, read by the dashboard, the wallet and the close.

Why stored, not computed per request: a forecast is a few hundred Monte Carlo runs (seconds),
a close must stay O(groups) and a wallet read a few milliseconds. So a close records nothing
extra: a refresh is **due** whenever the newest stored forecast starts before the open period
(:func:`due`), and the process that closed (the ``period close`` command after its commit, the
API's close route after its response, ``demo`` after its last close) computes one and stores it
here (:func:`store`). Readers take the newest row.

A row holds three JSON documents: ``summary`` (bands of the operator's figures), ``holdings``
(per release group start period, the p10/p50/p90 period in which it completes) and ``outlook``
(the low band of the pool's net inflow the ``forecast`` controller reads at the next close).
Invariant: rows are only inserted; the newest row (highest id) is the forecast.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gongsheng.domain.policy import Controller
from gongsheng.domain.release import GroupState, Outlook, projected_outlook
from gongsheng.services.ports.work import Stores


def store(stores: Stores, *, period: int, policy_digest: str, runs: int, horizon: int, seed: int,
          summary: Mapping[str, Any], holdings: Mapping[str, Any], outlook: Mapping[str, Any]) -> int:
    """Insert a forecast that starts at ``period`` (the open period); return its id."""
    return stores.forecasts.add(period=period, policy_digest=policy_digest, runs=runs,
                                horizon=horizon, seed=seed, summary=summary, holdings=holdings,
                                outlook=outlook)


def latest(stores: Stores) -> dict[str, Any] | None:
    """The newest stored forecast's summary (with its row's facts), or None."""
    return stores.forecasts.latest()


def holding_bands(stores: Stores) -> dict[int, list[int | None]]:
    """Per start period, the p10/p50/p90 period in which a holding of that group completes."""
    found = stores.forecasts.holdings()
    return {} if found is None else {int(k): v for k, v in found.items()}


def due(stores: Stores) -> bool:
    """Whether a refresh is due: no stored forecast starts at the open period."""
    newest = stores.forecasts.newest_period()
    return newest is None or newest < stores.periods.open_period().seq


def stored_outlook(stores: Stores, period: int,
                   controller: Controller | None = None) -> Outlook | None:
    """The ``forecast`` controller's outlook when closing ``period``, from the newest forecast.

    The stored band begins at the period the forecast started at; a forecast older than the
    closing period is used from that period on. None without a stored forecast (the controller
    then acts as ``budget``), or when ``controller`` is given and is not ``forecast``.
    """
    if controller is not None and controller is not Controller.FORECAST:
        return None
    found = stores.forecasts.outlook()
    if found is None:
        return None
    start, body = found
    band = [int(v) for v in body.get("inflow_low_fen", [])][max(period - start, 0):]
    if period < start:
        return None
    totals: dict[str, int] = {}
    for multiple, pts in stores.forecasts.points_starting(period + 1):
        totals[multiple] = totals.get(multiple, 0) + pts
    groups = [GroupState(period + 1, Decimal(m), p, 0) for m, p in sorted(totals.items())]
    return projected_outlook(band, period, groups)


__all__ = ["due", "holding_bands", "latest", "store", "stored_outlook"]
