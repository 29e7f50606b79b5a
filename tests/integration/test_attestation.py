"""``gongsheng attest``: per closed period, statements that hold on honest books, a planted
violation that fails its statement (and the command), and the signed file checked offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gongsheng.domain.ledger import AccountKind, account_id, system_account
from gongsheng.entrypoints.cli import app
from gongsheng.views.attestation import attestation

if TYPE_CHECKING:
    from conftest import City

runner = CliRunner()


@pytest.fixture
def closed(city: City) -> City:
    city.order(100_000)  # A's first order: B's referral reward
    city.order(30_000)
    city.platform.close_period()
    return city


def _statements(city: City, period: int = 1) -> dict[str, dict[str, object]]:
    body = city.platform.read(attestation, period)
    return {s["name"]: s for s in body["statements"]}


def test_honest_books_hold_every_statement(closed: City) -> None:
    found = _statements(closed)
    assert set(found) == {
        "rewards_one_direct_relationship", "parts_paid_to_direct_relations",
        "no_consumer_join_or_upgrade_fee", "points_and_vouchers_never_cashed_or_transferred",
        "partner_dividends_from_own_region_only", "budget_release_within_pool",
        "promise_gap_and_pool_coverage", "period_sealed"}
    assert all(s["holds"] for s in found.values()), [s for s in found.values() if not s["holds"]]
    assert found["rewards_one_direct_relationship"]["evidence"] == {
        "orders": 2, "referral_rewards": 1, "referral_points_cpts": 5_000, "not_direct": 0}
    # the worked example: 15% of each 20% concession to the region's partner
    assert found["partner_dividends_from_own_region_only"]["evidence"]["partner_dividend_fen"] == \
        (100_000 + 30_000) * 20 // 100 * 15 // 100
    assert all(s["rule"] for s in found.values())


def test_a_reward_paid_past_the_direct_referrer_fails(closed: City) -> None:
    with closed.platform.engine.begin() as conn:  # as if the reward had gone to B's own referrer
        conn.execute(text("UPDATE orders SET referrer_id = :p WHERE referrer_cpts > 0"),
                     {"p": closed.home})
    found = _statements(closed)
    assert not found["rewards_one_direct_relationship"]["holds"]
    assert found["rewards_one_direct_relationship"]["evidence"]["not_direct"] == 1


def test_a_fee_charged_to_a_consumer_fails_and_attest_exits_non_zero(
        city: City, db_url: str, tmp_path: Path) -> None:
    city.order(50_000)
    fee = account_id(city.consumer, AccountKind.CASH)
    revenue = system_account(AccountKind.PLATFORM_REVENUE)
    with city.platform.engine.begin() as conn:  # a join fee posted behind the service layer
        entry = conn.execute(text("INSERT INTO journal_entries (kind, period, leg_count, memo) "
                                  "VALUES ('adjustment', 1, 2, 'join fee') RETURNING id")).scalar_one()
        for leg, (acc, amount) in enumerate([(fee, -9_900), (revenue, 9_900)]):
            conn.execute(text("INSERT INTO postings (entry_id, leg, account_id, asset, amount) "
                              "VALUES (:e, :l, :a, 'CNY', :v)"),
                         {"e": entry, "l": leg, "a": acc, "v": amount})
    city.platform.close_period()
    found = _statements(city)
    assert not found["no_consumer_join_or_upgrade_fee"]["holds"]
    assert found["no_consumer_join_or_upgrade_fee"]["evidence"]["consumer_money_postings"] == 1
    key = tmp_path / "keys" / "attest.key"
    result = runner.invoke(app, ["attest", "--db", db_url, "--period", "1", "--key", str(key),
                                 "--out", str(tmp_path / "a.json")])
    assert result.exit_code == 1, result.output
    assert json.loads((tmp_path / "a.json").read_bytes())["attestation"]["holds"] is False


def test_attest_signs_and_verifies_offline(closed: City, db_url: str, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "attest.key"
    doc = tmp_path / "attestation.json"
    result = runner.invoke(app, ["attest", "--db", db_url, "--key", str(key), "--out", str(doc)])
    assert result.exit_code == 0, result.output
    assert key.stat().st_mode & 0o777 == 0o600
    pub = Path(str(key) + ".pub")
    body = json.loads(doc.read_bytes())
    assert body["attestation"]["period"] == 1 and body["attestation"]["holds"] is True
    ok = runner.invoke(app, ["attest", "--verify", str(doc), "--public-key", str(pub)])
    assert ok.exit_code == 0, ok.output
    raw = bytearray(doc.read_bytes())
    at = raw.index(b'"holds":true')
    raw[at + 8] = ord("T")  # one byte
    doc.write_bytes(bytes(raw))
    bad = runner.invoke(app, ["attest", "--verify", str(doc), "--public-key", str(pub)])
    assert bad.exit_code == 1
    # the same key signs again (it is kept, not regenerated)
    again = runner.invoke(app, ["attest", "--db", db_url, "--key", str(key), "--out", str(doc)])
    assert again.exit_code == 0
    assert runner.invoke(app, ["attest", "--verify", str(doc), "--public-key", str(pub)]).exit_code == 0


def test_attest_names_a_period_that_is_not_closed(closed: City, db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["attest", "--db", db_url, "--period", "2",
                                 "--key", str(tmp_path / "k")])
    assert result.exit_code == 3
