"""The pool's inflow series and its low band: what the ``forecast`` controller looks ahead with.

The net inflow of a period is what the pool's available part received before that period's
release: ``available_after_close - available_after_previous_close + released`` (concessions'
pool shares, vacant parts, voucher margins, less refunds). Its logarithm is modelled as a random
walk with a damped drift (:func:`low_band`), whose drift and spread are estimated on the last
six growth rates, the drift's own estimation error carried into the band; the p10 of the
normal prediction, back-transformed, is the low band. (An exponential-smoothing model with fixed
smoothing, used before, put its p10 so low under steady growth that no actual inflow of the
built-in scenarios ever fell below it at 6 or 12 periods ahead: see docs/forecast.md.) The
same function serves the live close (through the stored forecast) and the simulator's
controller, so both look ahead alike.

Invariants: the band has one non-negative integer (fen) per period of the horizon; fewer than
:data:`MIN_HISTORY` periods of history give no band (the controller then acts as ``budget``).
Floats are used here (a projection), never in the books.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from gongsheng.domain.release import GroupState, Outlook, projected_outlook

MIN_HISTORY = 3
WINDOW = 6        # log growth rates the drift is estimated on
DAMPING = 0.9     # the drift fades by this factor per period ahead
Z10 = NormalDist().inv_cdf(0.9)  # the p10 lies this many standard deviations below the centre


def net_inflows(available: Sequence[float], released: Sequence[float], start: float = 0.0) -> list[int]:
    """Per period, the pool's net inflow from the available balance after each close and the release."""
    out, before = [], start
    for a, r in zip(available, released, strict=True):
        out.append(round(a - before + r))
        before = a
    return out


def low_band(history: Sequence[int], horizon: int) -> list[int] | None:
    """The p10 of the next ``horizon`` inflows (fen), or None with too short a history.

    A random walk with a damped drift on the log of the inflow: the drift ``g`` is the mean of
    the last :data:`WINDOW` log growth rates and ``s`` their standard deviation; ``h`` periods
    ahead the log inflow is centred on ``y_T + g (phi + ... + phi^h)`` with variance
    ``h s^2 + (h s)^2 / n`` (the walk's own shocks plus the drift's estimation error, ``n``
    growth rates), and the band is its 10th percentile, back-transformed.
    """
    if len(history) < MIN_HISTORY or horizon <= 0:
        return None
    y = np.log(np.maximum(np.asarray(history, float), 1.0))
    d = np.diff(y)[-WINDOW:]
    n = len(d)
    g = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else abs(g)
    out = []
    drift = 0.0
    for h in range(1, horizon + 1):
        drift += g * DAMPING**h
        spread = math.sqrt(h * sd * sd + (h * sd) ** 2 / n)
        v = math.exp(min(y[-1] + drift - Z10 * spread, 700.0))
        out.append(0 if not math.isfinite(v) else max(0, int(v)))
    return out


def outlook(before: Sequence[int], horizon: int, period: int,
            pending: Sequence[GroupState] = ()) -> Outlook | None:
    """The controller's outlook when closing ``period``, from the inflows of the periods before it.

    The band is fitted on ``before`` (every period up to ``period - 1``) over ``horizon + 1``
    periods, so that it starts at ``period``: exactly what the live close reads from the forecast
    stored after the previous close (:func:`~gongsheng.domain.release.projected_outlook`).
    """
    band = low_band(before, horizon + 1)
    return None if band is None else projected_outlook(band, period, pending)


__all__ = ["MIN_HISTORY", "low_band", "net_inflows", "outlook"]
