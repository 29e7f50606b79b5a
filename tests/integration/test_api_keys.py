"""Integration keys on both databases: verification is one read of the key's row, ``last_used``
is written at most once per resolution, revocation and expiry hold from the next use."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gongsheng.adapters import tables as t
from gongsheng.domain.api_keys import LAST_USED_RESOLUTION_MS, Scope
from gongsheng.domain.errors import InvalidInput, NotFound, Unauthorized
from gongsheng.services import api_keys
from gongsheng.services.platform import Platform

T0 = 1_900_000_000_000


def _last_used(platform: Platform, key_id: int) -> int | None:
    with platform.engine.connect() as conn:
        value = conn.execute(select(t.api_keys.c.last_used_ms)
                             .where(t.api_keys.c.id == key_id)).scalar_one()
    return None if value is None else int(value)


def test_last_used_is_written_at_most_once_per_resolution(platform: Platform) -> None:
    issued = platform.run(api_keys.issue_key, "till", ["reports:read"], now_ms=T0)
    key_id = issued.key.id
    assert _last_used(platform, key_id) is None
    found = api_keys.verify_key(platform.engine, issued.secret, now_ms=T0 + 1)
    assert found.scopes == frozenset({Scope.REPORTS_READ}) and found.party_id is None
    assert _last_used(platform, key_id) == T0 + 1
    api_keys.verify_key(platform.engine, issued.secret, now_ms=T0 + LAST_USED_RESOLUTION_MS - 1)
    assert _last_used(platform, key_id) == T0 + 1  # within the resolution: not written
    later = T0 + 1 + LAST_USED_RESOLUTION_MS
    api_keys.verify_key(platform.engine, issued.secret, now_ms=later)
    assert _last_used(platform, key_id) == later
    listed = platform.read(lambda c: api_keys.list_keys(c, now_ms=later))
    assert listed[0].last_used_at is not None and listed[0].status == "active"


def test_expiry_and_revocation_hold_from_the_next_use(platform: Platform) -> None:
    issued = platform.run(api_keys.issue_key, "gw", ["orders:write"], now_ms=T0,
                          expires_ms=T0 + 10_000)
    api_keys.verify_key(platform.engine, issued.secret, now_ms=T0 + 9_999)
    with pytest.raises(Unauthorized, match="expired"):
        api_keys.verify_key(platform.engine, issued.secret, now_ms=T0 + 10_000)
    other = platform.run(api_keys.issue_key, "gw2", ["orders:write"], now_ms=T0)
    platform.run(api_keys.revoke_key, other.key.id, now_ms=T0 + 5)
    with pytest.raises(Unauthorized, match="revoked"):
        api_keys.verify_key(platform.engine, other.secret, now_ms=T0 + 6)
    with pytest.raises(NotFound):
        platform.run(api_keys.revoke_key, 10**6, now_ms=T0)


def test_a_party_key_is_bound_to_a_real_party_of_the_right_kind(city: object) -> None:
    plat: Platform = city.platform  # type: ignore[attr-defined]
    merchant = city.merchant  # type: ignore[attr-defined]
    pos = plat.run(api_keys.issue_key, "till", ["orders:write", "refunds:write"], now_ms=T0,
                   party_id=merchant)
    found = api_keys.verify_key(plat.engine, pos.secret, now_ms=T0)
    assert (found.party_id, found.party_kind) == (merchant, "merchant")
    with pytest.raises(NotFound):
        plat.run(api_keys.issue_key, "x", ["wallets:read"], now_ms=T0, party_id=10**6)
    with pytest.raises(InvalidInput):
        plat.run(api_keys.issue_key, "x", ["orders:write"], now_ms=T0,
                 party_id=city.consumer)  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput):
        plat.run(api_keys.issue_key, "x", ["events:read"], now_ms=T0, party_id=merchant)
    with pytest.raises(InvalidInput):
        plat.run(api_keys.issue_key, "x", ["reports:read"], now_ms=T0, expires_ms=T0)
    assert len(plat.read(lambda c: api_keys.list_keys(c, now_ms=T0))) == 1  # refusals wrote nothing


def test_the_migration_adds_the_table_to_a_database_made_before(platform: Platform) -> None:
    from alembic import command
    from sqlalchemy import inspect, text

    from gongsheng.adapters.database import alembic_config, migrate

    engine = platform.engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE api_keys"))
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "0011", purge=True)
    assert not inspect(engine).has_table("api_keys")
    migrate(engine)
    assert inspect(engine).has_table("api_keys")
    issued = platform.run(api_keys.issue_key, "after upgrade", ["reports:read"], now_ms=T0)
    assert api_keys.verify_key(engine, issued.secret, now_ms=T0).id == issued.key.id
    migrate(engine)  # again: nothing to do
