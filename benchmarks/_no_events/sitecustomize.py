"""Loaded at start-up by Python processes of ``benchmarks/http_api.py --no-events`` (this folder
is put on their ``PYTHONPATH``): with ``GS_BENCH_NO_EVENTS=1``, ``UnitOfWork.record`` does
nothing, so no event is written. Only the benchmark's server processes see this folder."""

from __future__ import annotations

import os

if os.environ.get("GS_BENCH_NO_EVENTS") == "1":
    from gongsheng.domain.events import Event
    from gongsheng.services.unit_of_work import UnitOfWork

    def _record_nothing(self: UnitOfWork, event: Event, *,
                        slot: tuple[str, str] | None = None) -> None:
        """The event is built, never written."""

    UnitOfWork.record = _record_nothing  # type: ignore[method-assign]
