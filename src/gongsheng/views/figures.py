"""The operator's figures of a period (MODEL.md section 8), computed at close from counters.

Every figure is read from striped counters, balances and release groups: O(counters + groups),
never a scan of orders or holders (``domain.figures.close_figures``, read by the close from
its stores). The figures are stored with the closed period, so reports and charts read them
without recomputing anything.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

from gongsheng.adapters.party_store import region_universes
from gongsheng.domain.figures import RegionCoverage, region_coverage


def coverage_by_region(conn: Connection, lifetime: Mapping[str, int]) -> list[RegionCoverage]:
    """Every region's merchants active to date (lifetime counters) against its universe."""
    return region_coverage(region_universes(conn), lifetime)
