"""Periods (期) as the books keep them: exactly one is open; a closed one keeps its release.

A period names the policy version its orders use. A closed period's row keeps the release rate,
the nominal rate, what it released (``released_fen``), what it released beyond the pool
(``unfunded_fen``) and its figures (JSON); an open period has none of them yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gongsheng.domain.policy import PeriodUnit

LIFETIME = 0
"""The ``period_counters`` period that holds lifetime counters (registrations)."""


@dataclass(frozen=True)
class OpenPeriod:
    seq: int
    policy_version_id: int
    starts_on: str


@dataclass(frozen=True)
class PeriodRecord:
    """One period's row; the release fields are None until it is closed."""

    seq: int
    status: str  # "open" | "closed"
    starts_on: str
    ends_on: str
    policy_version_id: int
    release_rate: int | None
    nominal_rate: int | None
    released_fen: int | None
    unfunded_fen: int | None
    figures: str | None  # the stored PeriodFigures JSON


@dataclass(frozen=True)
class PeriodClose:
    """What closing a period writes on its row."""

    release_rate: int
    nominal_rate: int
    released_fen: int
    unfunded_fen: int
    figures: str  # PeriodFigures JSON


def period_end(start: dt.date, unit: PeriodUnit) -> dt.date:
    """The first day after a period starting on ``start``."""
    if unit is PeriodUnit.DAY:
        return start + dt.timedelta(days=1)
    if unit is PeriodUnit.WEEK:
        return start + dt.timedelta(days=7)
    month = start.month % 12 + 1
    year = start.year + (start.month == 12)
    day = min(start.day, 28)
    return dt.date(year, month, day)
