"""The stored forecasts (``services.forecast_store``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ForecastStore(Protocol):
    """Forecasts are only inserted; the newest (highest id) is the forecast. Each holds three
    JSON documents: ``summary``, ``holdings`` and ``outlook``."""

    def add(self, *, period: int, policy_digest: str, runs: int, horizon: int, seed: int,
            summary: Mapping[str, Any], holdings: Mapping[str, Any],
            outlook: Mapping[str, Any]) -> int:
        """Insert a forecast starting at ``period``; its id."""
        ...

    def latest(self) -> dict[str, Any] | None:
        """The newest forecast's summary, with its row's facts (``forecast_id``,
        ``starts_at_period``, ``runs``, ``horizon``, ``seed``, ``policy_digest``, ``created_at``)."""
        ...

    def holdings(self) -> dict[str, Any] | None:
        """The newest forecast's ``holdings`` document."""
        ...

    def newest_period(self) -> int | None:
        """The period the newest forecast starts at."""
        ...

    def outlook(self) -> tuple[int, dict[str, Any]] | None:
        """The newest forecast's start period and ``outlook`` document."""
        ...

    def points_starting(self, start_period: int) -> list[tuple[str, int]]:
        """``(multiple, points)`` of the release groups that start at ``start_period``."""
        ...
