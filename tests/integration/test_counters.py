"""Period counters read by name (the KPIs' lifetime figures), SQLite and PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gongsheng.adapters.period_store import counters
from gongsheng.domain.periods import LIFETIME
from gongsheng.views.reports import kpis

if TYPE_CHECKING:
    from tests.conftest import City


def test_named_counters_are_the_full_reads_values_and_nothing_else(city: City) -> None:
    city.add_merchant("Second Merchant")
    city.order(50_000)
    with city.platform.engine.connect() as conn:
        every = counters(conn, LIFETIME)
        named = counters(conn, LIFETIME, ("consumers", "merchants", "no-such-counter"))
        report = kpis(conn)["open_period"]
    assert named == {"consumers": every["consumers"], "merchants": every["merchants"]}
    assert every["merchants"] >= 2 and len(every) > len(named)  # per region and channel too
    assert (report["registered_consumers"], report["merchants"]) == (
        every["consumers"], every["merchants"])
