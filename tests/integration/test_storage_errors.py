"""Storage errors reach the services as domain errors, translated once in the adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from gongsheng.adapters import tables as t
from gongsheng.domain.errors import AlreadyHeld, DuplicateRequest

if TYPE_CHECKING:
    from conftest import City


def test_a_second_row_under_an_idempotency_key_is_a_duplicate_request(city: City) -> None:
    city.order(1_000, key="same")
    with city.platform.engine.connect() as conn:
        row = conn.execute(select(t.orders).where(t.orders.c.idem_key == "same")).mappings().one()
        copy = {k: v for k, v in row.items() if k not in ("id", "created_at")}
        with pytest.raises(DuplicateRequest):
            conn.execute(insert(t.orders), copy)


def test_a_second_active_partner_of_a_region_is_already_held(city: City) -> None:
    with city.platform.engine.connect() as conn, pytest.raises(AlreadyHeld):
        other = conn.execute(insert(t.parties).returning(t.parties.c.id),
                             {"kind": "partner", "name": "second"}).scalar_one()
        conn.execute(insert(t.partners), {"party_id": other, "region_id": city.region,
                                          "investment_fen": 0, "term_start": 1,
                                          "active": True})


def test_other_integrity_errors_stay_database_errors(city: City) -> None:
    with city.platform.engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(insert(t.partners), {"party_id": city.partner, "region_id": city.region,
                                          "investment_fen": -1, "term_start": 1, "active": False})
