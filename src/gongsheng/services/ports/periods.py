"""Periods and their counters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol

from gongsheng.domain.periods import OpenPeriod, PeriodClose, PeriodRecord


class PeriodStore(Protocol):
    """Exactly one period is open; periods are numbered 1, 2, ... without gaps; a closed period
    never reopens. Counters are named integers per period (period 0: lifetime), only added to."""

    def open_period(self) -> OpenPeriod:
        """The open period (:class:`~gongsheng.domain.errors.NotFound` if the books have none)."""
        ...

    def period(self, seq: int) -> PeriodRecord | None:
        ...

    def counters(self, period: int) -> dict[str, int]:
        """All counters of a period."""
        ...

    def add_counters(self, period: int, values: Mapping[str, int]) -> None:
        """Add ``values`` to a period's counters (zeros are skipped)."""
        ...

    def close(self, seq: int, close: PeriodClose, at: dt.datetime) -> None:
        """Mark the open period ``seq`` closed with its release and figures."""
        ...

    def open_next(self, seq: int, starts_on: dt.date, ends_on: dt.date, policy_version_id: int) -> None:
        """Open period ``seq`` (the one after the period just closed)."""
        ...
