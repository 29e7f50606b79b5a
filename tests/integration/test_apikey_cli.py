"""``gongsheng apikey create|list|revoke`` through Typer's runner, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from gongsheng.domain.errors import Unauthorized
from gongsheng.entrypoints.cli import app
from gongsheng.services import api_keys

if TYPE_CHECKING:
    from conftest import City

runner = CliRunner()
SECRET = re.compile(r"^gsk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$", re.M)


def test_create_list_revoke(city: City) -> None:
    url = city.platform.engine.url.render_as_string(hide_password=False)
    made = runner.invoke(app, ["apikey", "create", "tills-M", "--party",
                               str(city.merchant), "--scope", "orders:write", "--scope",
                               "refunds:write", "--expires-in-days", "30", "--db", url])
    assert made.exit_code == 0, made.output
    found = SECRET.search(made.output)
    assert found is not None
    secret = found.group(0)
    now = int(time.time() * 1000)
    key = api_keys.verify_key(city.platform.engine, secret, now_ms=now)
    assert key.party_id == city.merchant and {s.value for s in key.scopes} == {
        "orders:write", "refunds:write"}
    listed = runner.invoke(app, ["apikey", "list", "--db", url], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "tills-M" in listed.output
    assert secret not in listed.output and secret.split("_")[-1] not in listed.output
    assert runner.invoke(app, ["apikey", "revoke", str(key.id), "--db", url]).exit_code == 0
    with pytest.raises(Unauthorized, match="revoked"):
        api_keys.verify_key(city.platform.engine, secret, now_ms=now)
    active = runner.invoke(app, ["apikey", "list", "--active", "--db", url], env={"COLUMNS": "200"})
    assert "tills-M" not in active.output


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_bad_input_exits_non_zero_with_one_line(city: City) -> None:
    url = city.platform.engine.url.render_as_string(hide_password=False)
    unknown = runner.invoke(app, ["apikey", "revoke", "999", "--db", url])
    assert unknown.exit_code == 3 and "does not exist" in unknown.output
    consumer = runner.invoke(app, ["apikey", "create", "x", "--party", str(city.consumer),
                                   "--scope", "orders:write", "--db", url])
    assert consumer.exit_code == 2 and "only a merchant" in consumer.output
    assert runner.invoke(app, ["apikey", "create", "x", "--scope", "orders:delete",
                               "--db", url]).exit_code == 2
    assert runner.invoke(app, ["apikey", "create", "x", "--db", url]).exit_code == 2  # no scope
