"""An order's first statement plans the rest of its own transaction generically, never a batch's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gongsheng.adapters import order_start

if TYPE_CHECKING:
    from conftest import City


@pytest.mark.postgres
@pytest.mark.parametrize("dialect", ["postgres"])
def test_plan_cache_mode_is_set_for_an_order_alone_not_inside_a_savepoint(city: City,
                                                                          dialect: str) -> None:
    with city.platform.engine.connect() as conn:
        before = conn.exec_driver_sql("SHOW plan_cache_mode").scalar()
        with conn.begin_nested():  # an order of a batch
            order_start.begin(conn, city.consumer, city.merchant, "savepointed")
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == before
        order_start.begin(conn, city.consumer, city.merchant, "alone")
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_generic_plan"
        conn.rollback()
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == before == "auto"
