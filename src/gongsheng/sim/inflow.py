"""The pool's inflow series and its low band: what the ``forecast`` controller looks ahead with.

The net inflow of a period is what the pool's available part received before that period's
release: ``available_after_close - available_after_previous_close + released`` (concessions'
pool shares, vacant parts, voucher margins, less refunds). Its logarithm is modelled as an
exponential-smoothing state space model with an additive damped trend (ETS(A,Ad,N), statsmodels'
``ETSModel``) with **fixed** smoothing parameters (level 0.5, trend 0.1, damping 0.9), so one
band costs a filter pass (about 10 ms) rather than an optimisation; the p10 of its analytic
prediction interval, back-transformed, is the low band. The same function serves the live close
(through the stored forecast) and the simulator's controller, so both look ahead alike.

Invariants: the band has one non-negative integer (fen) per period of the horizon; fewer than
:data:`MIN_HISTORY` periods of history give no band (the controller then acts as ``budget``).
Floats are used here (a projection), never in the books.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from gongsheng.domain.release import GroupState, Outlook, projected_outlook

MIN_HISTORY = 3
LEVEL, TREND, DAMPING = 0.5, 0.1, 0.9
LOW_ALPHA = 0.2  # a two-sided 80% interval: its lower end is the p10


def net_inflows(available: Sequence[float], released: Sequence[float], start: float = 0.0) -> list[int]:
    """Per period, the pool's net inflow from the available balance after each close and the release."""
    out, before = [], start
    for a, r in zip(available, released, strict=True):
        out.append(round(a - before + r))
        before = a
    return out


def low_band(history: Sequence[int], horizon: int) -> list[int] | None:
    """The p10 of the next ``horizon`` inflows (fen), or None with too short a history."""
    if len(history) < MIN_HISTORY or horizon <= 0:
        return None
    y = pd.Series(np.log(np.maximum(np.asarray(history, float), 1.0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' notices about the index and convergence
        model = ETSModel(y, error="add", trend="add", damped_trend=True,
                         initialization_method="known", initial_level=float(y.iloc[0]),
                         initial_trend=float(y.iloc[1] - y.iloc[0]))
        result = model.smooth([LEVEL, TREND, DAMPING])
        frame = result.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(
            alpha=LOW_ALPHA)
    low = np.exp(frame["pi_lower"].to_numpy())
    return [0 if not math.isfinite(v) else max(0, int(v)) for v in low]


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
