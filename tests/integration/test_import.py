"""``gongsheng import orders``: the same books as live orders, idempotent, bad rows reported.

Each test runs on SQLite and PostgreSQL. The expected books are never written down: they are
those of a second database on which the same orders are placed one by one through the service.
"""

from __future__ import annotations

import csv
import multiprocessing as mp
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from typer.testing import CliRunner

from conftest import PG_SERVER, City, build_city
from gongsheng.adapters import tables as t
from gongsheng.adapters.policy_file import default_policy_text, parse_policy_text
from gongsheng.domain.audit import Actor
from gongsheng.domain.errors import InvalidInput
from gongsheng.entrypoints.cli import app
from gongsheng.entrypoints.import_jobs import import_in_parts
from gongsheng.services.importing import (
    BadRow,
    ImportReport,
    import_key,
    import_orders,
    link_parties,
    row_part,
)
from gongsheng.services.ordering import OrderRequest
from gongsheng.services.platform import Platform

COLUMNS = ["external_order_id", "merchant_external_id", "consumer_external_id", "amount_fen",
           "payment_ref", "device_id", "paid_at"]


def link_city(city: City) -> dict[str, int]:
    """External ids for the city's merchants and consumers (as an old platform named them)."""
    ids = {"m-home": city.home, "m-cater": city.merchant, "m-extra": city.add_merchant("X"),
           "c-a": city.consumer, "c-b": city.referrer,
           "c-new": city.platform.consumer("Consumer N")}
    assert city.platform.run(link_parties, list(ids.items())) == len(ids)
    return ids


def history(n: int, seed: int = 3) -> list[dict[str, Any]]:
    """``n`` orders of the old platform, by external ids; some with payment identifiers."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append({"external_order_id": f"old-{i}",
                     "merchant_external_id": rng.choice(["m-home", "m-cater", "m-extra"]),
                     "consumer_external_id": rng.choice(["c-a", "c-b", "c-new"]),
                     "amount_fen": rng.randint(1, 500_000),
                     "payment_ref": f"card{rng.randint(1, 5)}" if rng.random() < 0.5 else None,
                     "device_id": None, "paid_at": "2025-11-11T10:00:00+08:00"})
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    types = {"amount_fen": pa.int64()}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in COLUMNS])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def books(plat: Platform, parties: dict[str, int]) -> tuple[Any, ...]:
    """What must be equal: the trial balance, every wallet, the number of orders."""
    orders = plat.read(lambda c: c.execute(select(func.count()).select_from(t.orders)).scalar())
    return plat.trial_balance(), {k: plat.wallet(v) for k, v in parties.items()}, orders


def run_import(plat: Platform, path: Path, chunk_rows: int = 7) -> tuple[ImportReport, list[BadRow]]:
    bad: list[BadRow] = []
    return import_orders(plat.run, path, chunk_rows=chunk_rows, on_bad=bad.append), bad


@pytest.fixture
def two_cities(dialect: str, new_database: Callable[[str], str],
               open_platform: Callable[..., Platform]) -> Callable[[], tuple[City, dict[str, int]]]:
    """``make()``: another fresh database of the dialect with the city, its parties linked."""
    def make() -> tuple[City, dict[str, int]]:
        city = build_city(open_platform(new_database(dialect)))
        return city, link_city(city)
    return make


def place_live(city: City, parties: dict[str, int], rows: list[dict[str, Any]]) -> None:
    """The same orders as live ones, one commit each, through the service."""
    for r in rows:
        city.platform.order(OrderRequest(
            parties[r["consumer_external_id"]], parties[r["merchant_external_id"]],
            r["amount_fen"], 0, import_key(r["external_order_id"]), payment_ref=r["payment_ref"]))


def test_csv_and_parquet_give_the_books_of_live_orders(
        two_cities: Callable[[], tuple[City, dict[str, int]]], tmp_path: Path) -> None:
    rows = history(40)
    live, parties = two_cities()
    place_live(live, parties, rows)
    expected = books(live.platform, parties)
    for path in (write_csv(tmp_path / "h.csv", rows), write_parquet(tmp_path / "h.parquet", rows)):
        city, ids = two_cities()
        assert ids == parties  # fresh databases number the parties alike
        report, bad = run_import(city.platform, path)
        assert (report.rows, report.placed, report.replayed, report.bad, bad) == (40, 40, 0, 0, [])
        assert books(city.platform, ids) == expected
    assert expected[2] == 40


def test_a_rerun_imports_nothing(two_cities: Callable[[], tuple[City, dict[str, int]]],
                                 tmp_path: Path) -> None:
    city, parties = two_cities()
    path = write_csv(tmp_path / "h.csv", history(25))
    first, _ = run_import(city.platform, path)
    before = books(city.platform, parties)
    again, bad = run_import(city.platform, path, chunk_rows=4)  # other chunks: same keys
    assert (first.placed, again.placed, again.replayed, bad) == (25, 0, 25, [])
    assert books(city.platform, parties) == before


def test_bad_rows_are_reported_and_post_nothing(
        two_cities: Callable[[], tuple[City, dict[str, int]]], tmp_path: Path) -> None:
    good = history(6)
    city, parties = two_cities()
    live, _ = two_cities()
    place_live(live, parties, good)
    bad_rows = [
        dict(good[0], external_order_id="bad-str", amount_fen="12.50"),
        dict(good[0], external_order_id="bad-word", amount_fen="lots"),
        dict(good[0], external_order_id="bad-merchant", merchant_external_id="m-gone"),
        dict(good[0], external_order_id="bad-kind", merchant_external_id="c-a"),
        dict(good[0], external_order_id="bad-negative", amount_fen=-100),
        dict(good[0], external_order_id="bad-zero", amount_fen=0),
        dict(good[1], amount_fen=good[1]["amount_fen"] + 1),  # a duplicate id, other content
        dict(good[2]),  # a duplicate id, same content: a replay, not an error
    ]
    rows = good[:3] + bad_rows + good[3:]
    path = write_csv(tmp_path / "mixed.csv", rows)
    report, bad = run_import(city.platform, path, chunk_rows=3)
    lines = [b.line for b in bad]
    assert lines == list(range(5, 12))  # the header is line 1, the good rows lines 2-4
    reasons = [b.reason for b in bad]
    assert "amount_fen must be an integer" in reasons[0] and "'12.50'" in reasons[0]
    assert "unknown merchant 'm-gone'" in reasons[2] and "unknown merchant 'c-a'" in reasons[3]
    assert "between 1 and" in reasons[4] and "between 1 and" in reasons[5]
    assert "different request body" in reasons[6]
    assert (report.rows, report.placed, report.replayed, report.bad) == (14, 6, 1, 7)
    assert books(city.platform, parties) == books(live.platform, parties)
    keys = city.platform.read(lambda c: set(c.execute(select(t.orders.c.idem_key)).scalars()))
    assert not {import_key(r["external_order_id"]) for r in bad_rows[:6]} & keys


def test_a_duplicate_of_an_earlier_run_with_other_content_is_bad(
        two_cities: Callable[[], tuple[City, dict[str, int]]], tmp_path: Path) -> None:
    city, parties = two_cities()
    rows = history(3)
    run_import(city.platform, write_parquet(tmp_path / "a.parquet", rows))
    before = books(city.platform, parties)
    changed = [dict(rows[0], consumer_external_id="c-new" if rows[0]["consumer_external_id"]
                    != "c-new" else "c-a")]
    report, bad = run_import(city.platform, write_parquet(tmp_path / "b.parquet", changed))
    assert (report.bad, [b.line for b in bad]) == (1, [2])
    assert books(city.platform, parties) == before


def test_a_file_with_a_float_amount_column_posts_nothing(
        two_cities: Callable[[], tuple[City, dict[str, int]]], tmp_path: Path) -> None:
    city, parties = two_cities()
    rows = history(3)
    before = books(city.platform, parties)
    pq.write_table(pa.Table.from_pylist([dict(r, amount_fen=float(r["amount_fen"])) for r in rows]),
                   tmp_path / "f.parquet")
    report, bad = run_import(city.platform, tmp_path / "f.parquet")
    assert (report.placed, [b.line for b in bad]) == (0, [2, 3, 4])
    assert books(city.platform, parties) == before


def test_a_file_with_an_unknown_column_is_refused(
        two_cities: Callable[[], tuple[City, dict[str, int]]], tmp_path: Path) -> None:
    city, _ = two_cities()
    path = tmp_path / "v.csv"
    path.write_text("external_order_id,merchant_external_id,consumer_external_id,amount_fen,"
                    "voucher_fen\nx,m-home,c-a,100,50\n")
    with pytest.raises(InvalidInput, match="unknown column"):
        run_import(city.platform, path)


def test_cli_reports_bad_lines_and_exits_non_zero(
        two_cities: Callable[[], tuple[City, dict[str, int]]], tmp_path: Path) -> None:
    city, _ = two_cities()
    url = city.platform.engine.url.render_as_string(hide_password=False)
    rows = history(3)
    rows.insert(1, dict(rows[0], external_order_id="bad", amount_fen="1e3"))
    path = write_csv(tmp_path / "h.csv", rows)
    result = CliRunner().invoke(app, ["import", "orders", str(path), "--db", url])
    assert result.exit_code == 1, result.output
    assert "h.csv:3: amount_fen must be an integer" in result.stderr
    assert "3 orders imported, 0 already imported, 1 bad" in result.stdout
    again = CliRunner().invoke(app, ["import", "orders", str(write_csv(tmp_path / "g.csv",
                                                                        [rows[0]])), "--db", url])
    assert again.exit_code == 0 and "0 orders imported, 1 already imported" in again.stdout


def test_linking_parties_is_idempotent_and_refuses_a_relink(
        two_cities: Callable[[], tuple[City, dict[str, int]]]) -> None:
    city, parties = two_cities()
    assert city.platform.run(link_parties, [("m-home", parties["m-home"])]) == 0
    with pytest.raises(InvalidInput, match="already linked"):
        city.platform.run(link_parties, [("m-other", parties["m-home"])])
    with pytest.raises(InvalidInput, match="already linked"):
        city.platform.run(link_parties, [("m-home", parties["m-cater"])])


def test_migration_0020_keeps_external_ids_unique(
        two_cities: Callable[[], tuple[City, dict[str, int]]]) -> None:
    from alembic import command

    from gongsheng.adapters.database import alembic_config, migrate
    city, parties = two_cities()
    plat = city.platform
    cfg = alembic_config(plat.engine)
    with plat.engine.begin() as conn:  # a database made before external ids existed
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0017")
    migrate(plat.engine)
    assert plat.run(link_parties, [("m-home", parties["m-home"])]) == 1
    with pytest.raises(IntegrityError):
        plat.run(lambda uow: uow.conn.execute(update(t.parties).where(
            t.parties.c.id == parties["m-cater"]).values(external_id="m-home")))


def test_cli_links_parties_and_refuses_unreadable_files(
        two_cities: Callable[[], tuple[City, dict[str, int]]], tmp_path: Path) -> None:
    city, parties = two_cities()
    url = city.platform.engine.url.render_as_string(hide_password=False)
    other = city.add_merchant("Y")
    links = tmp_path / "links.csv"
    links.write_text(f"external_id,party_id\nm-home,{parties['m-home']}\nm-y,{other}\n")
    result = CliRunner().invoke(app, ["import", "parties", str(links), "--db", url])
    assert result.exit_code == 0 and "1 newly linked, 1 already linked" in result.stdout
    rows = [dict(history(1)[0], merchant_external_id="m-y")]
    assert run_import(city.platform, write_csv(tmp_path / "y.csv", rows))[0].placed == 1
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    (tmp_path / "latin.csv").write_bytes(",".join(COLUMNS).encode() + b"\n\xe9,,,1,,,\n")
    for name, message in (("missing.csv", "no such file"), ("junk.parquet", "not a readable"),
                          ("latin.csv", "not a readable UTF-8")):
        result = CliRunner().invoke(app, ["import", "orders", str(tmp_path / name), "--db", url])
        assert result.exit_code == 2 and message in result.stderr, (name, result.output)


def test_parts_import_each_row_once_with_the_books_of_one_process(
        two_cities: Callable[[], tuple[City, dict[str, int]]], tmp_path: Path) -> None:
    rows = history(30, seed=5)
    rows.insert(4, dict(rows[0], external_order_id="bad", amount_fen="9.99"))
    path = write_csv(tmp_path / "h.csv", rows)
    whole, parties = two_cities()
    expected_report, expected_bad = run_import(whole.platform, path)
    city, _ = two_cities()
    reports: list[ImportReport] = []
    bad: list[BadRow] = []
    for j in range(3):
        found_bad: list[BadRow] = []
        reports.append(import_orders(city.platform.run, path, chunk_rows=4, part=(j, 3),
                                     on_bad=found_bad.append))
        bad += found_bad
    assert sum(r.rows for r in reports) == expected_report.rows == 31
    assert all(r.rows for r in reports)  # three consumers: each part has some
    assert sum(r.placed for r in reports) == expected_report.placed == 30
    assert sorted(bad, key=lambda b: b.line) == expected_bad and [b.line for b in bad] == [6]
    assert books(city.platform, parties) == books(whole.platform, parties)
    with pytest.raises(InvalidInput, match="part 3 of 3"):
        import_orders(city.platform.run, path, part=(3, 3))


def test_cli_jobs_import_in_processes_on_postgres_and_are_refused_on_sqlite(
        dialect: str, two_cities: Callable[[], tuple[City, dict[str, int]]], tmp_path: Path) -> None:
    city, parties = two_cities()
    whole, _ = two_cities()
    for c in (city, whole):  # more consumers, so that both parts of the file hold some
        extra = {f"c-x{i}": c.platform.consumer(f"Consumer X{i}") for i in range(6)}
        c.platform.run(link_parties, list(extra.items()))
    parties.update(extra)
    rng = random.Random(9)
    consumers = sorted(k for k in parties if k.startswith("c-"))
    rows = [dict(r, consumer_external_id=rng.choice(consumers)) for r in history(60, seed=9)]
    assert {row_part(r, 2) for r in rows} == {0, 1}
    rows.insert(10, dict(rows[0], external_order_id="bad", merchant_external_id="m-gone"))
    path = write_csv(tmp_path / "h.csv", rows)
    url = city.platform.engine.url.render_as_string(hide_password=False)
    before = books(city.platform, parties)
    result = CliRunner().invoke(app, ["import", "orders", str(path), "--db", url, "--jobs", "2",
                                      "--chunk", "7"])
    if dialect == "sqlite":
        assert result.exit_code == 2, result.output
        assert "--jobs above 1 needs PostgreSQL" in result.output + result.stderr
        assert books(city.platform, parties) == before
        return
    assert result.exit_code == 1, result.output  # a bad row: the good ones are in
    assert result.stderr.count("h.csv:") == 1 and "h.csv:12: unknown merchant 'm-gone'" in result.stderr
    assert "61 rows: 60 orders imported, 0 already imported, 1 bad" in result.stdout
    run_import(whole.platform, path)
    assert books(city.platform, parties) == books(whole.platform, parties)
    again = CliRunner().invoke(app, ["import", "orders", str(path), "--db", url, "--jobs", "2"])
    assert again.exit_code == 1 and "0 orders imported, 60 already imported, 1 bad" in again.stdout
    assert books(city.platform, parties) == books(whole.platform, parties)


def test_a_failed_worker_is_raised_once_all_have_ended(tmp_path: Path) -> None:
    """Workers that cannot reach their database report it; the parent raises it as the
    database error it is (the command exits 7), and waits for every worker first."""
    path = write_csv(tmp_path / "h.csv", history(5))
    with pytest.raises(SQLAlchemyError, match="gs_no_such_database"):
        import_in_parts(f"{PG_SERVER}/gs_no_such_database", path, 2, actor=Actor("cli:test"),
                        chunk_rows=10)
    assert not mp.active_children()


def test_parts_are_refused_while_the_policy_caps_velocity(
        db_url: str, open_platform: Callable[..., Platform], tmp_path: Path) -> None:
    """Capped orders are placed one by one, each locking its merchant's rows in its own order:
    parts would deadlock each other, so an import in parts is refused before anything is
    placed; one process imports the file."""
    text = default_policy_text().replace("[risk]\n", "[risk]\nmax_orders_per_period = 1000\n", 1)
    city = build_city(open_platform(db_url, parse_policy_text(text, "capped")))
    parties = link_city(city)
    path = write_csv(tmp_path / "h.csv", history(6))
    before = books(city.platform, parties)
    with pytest.raises(InvalidInput, match="caps orders per consumer"):
        import_orders(city.platform.run, path, part=(0, 2))
    assert books(city.platform, parties) == before
    report, bad = run_import(city.platform, path)
    assert (report.placed, bad) == (6, [])


def test_a_bad_header_is_refused_before_any_worker_starts(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text("external_order_id,merchant_external_id,consumer_external_id,amount_fen,"
                    "voucher_fen\nx,m-home,c-a,100,50\n")
    with pytest.raises(InvalidInput, match="unknown column"):
        import_in_parts(f"{PG_SERVER}/gs_no_such_database", path, 2, actor=Actor("cli:test"),
                        chunk_rows=10)
    assert not mp.active_children()
