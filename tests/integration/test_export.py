"""The export: every dataset, the Beancount journal that ``bean-check`` accepts and whose
account totals are the trial balance, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import pytest
from beancount import loader
from beancount.core import data

from gongsheng.adapters.ledger_store import trial_balance
from gongsheng.domain.ledger import Asset
from gongsheng.views.beancount_export import COMMODITY, account_path
from gongsheng.views.export import export_books

if TYPE_CHECKING:
    from conftest import City

BEAN_CHECK = str(Path(sys.executable).with_name("bean-check"))


def busy_books(city: City) -> None:
    """Orders, refunds, a payout and two closes: every kind of entry."""
    plat = city.platform
    for i in range(6):
        order = city.order(200_000 + i * 1_000)
        if i % 2:
            plat.refund(order.order_id, 10_000, f"r-{i}")
    plat.close_period()
    city.order(1_000_000)
    plat.withdraw(city.partner, 20_000, "p-1")
    plat.close_period()
    city.order(50_000)


def test_the_beancount_file_passes_bean_check_and_sums_to_the_trial_balance(
        city: City, tmp_path: Path) -> None:
    busy_books(city)
    [path] = city.platform.read(lambda c: export_books(c, tmp_path, fmt="beancount"))
    checked = subprocess.run([BEAN_CHECK, str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    transactions = 0
    for entry in entries:
        if isinstance(entry, data.Transaction):
            transactions += 1
            for posting in entry.postings:
                totals[(posting.account, posting.units.currency)] += posting.units.number
    expected = {(account_path(a), COMMODITY[asset]): Decimal(v) / 100
                for (a, asset), v in city.platform.trial_balance().items()}
    assert {k: v for k, v in totals.items() if v} == expected
    journal = city.platform.read(lambda c: c.exec_driver_sql(
        "SELECT COUNT(*) FROM journal_entries").scalar())
    assert transactions == journal


def test_bean_check_refuses_a_tampered_export(city: City, tmp_path: Path) -> None:
    busy_books(city)
    [path] = city.platform.read(lambda c: export_books(c, tmp_path, fmt="beancount"))
    text = path.read_text("utf-8")
    first = next(line for line in text.splitlines() if line.startswith("  Liabilities:Pool:Available"))
    number = first.split()[1]
    tampered = text.replace(first, first.replace(number, str(Decimal(number) + 1)), 1)
    path.write_text(tampered, "utf-8")
    assert subprocess.run([BEAN_CHECK, str(path)], capture_output=True).returncode != 0


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_and_parquet_hold_the_journal_balances_orders_and_refunds(
        city: City, tmp_path: Path) -> None:
    busy_books(city)
    plat = city.platform
    files = plat.read(lambda c: export_books(c, tmp_path / "csv"))
    assert [f.name for f in files] == ["journal_entries.csv", "postings.csv", "balances.csv",
                                       "orders.csv", "refunds.csv"]
    postings = read_csv(tmp_path / "csv" / "postings.csv")
    sums: dict[tuple[int, Asset], int] = defaultdict(int)
    for p in postings:
        sums[(int(p["account_id"]), Asset(p["asset"]))] += int(p["amount"])
    assert {k: v for k, v in sums.items() if v} == plat.read(trial_balance)
    balances = read_csv(tmp_path / "csv" / "balances.csv")
    last = max(int(b["period"]) for b in balances)
    at_end = {(int(b["account_id"]), Asset(b["asset"])): int(b["balance"])
              for b in balances if int(b["period"]) == last}
    assert {k: v for k, v in at_end.items() if v} == plat.read(trial_balance)
    for period in range(1, last + 1):  # each period's balance: the legs up to its end
        upto: dict[tuple[int, str], int] = defaultdict(int)
        for p in postings:
            if int(p["period"]) <= period:
                upto[(int(p["account_id"]), p["asset"])] += int(p["amount"])
        rows = {(int(b["account_id"]), b["asset"]): int(b["balance"])
                for b in balances if int(b["period"]) == period}
        assert rows == dict(upto)
    orders = read_csv(tmp_path / "csv" / "orders.csv")
    refunds = read_csv(tmp_path / "csv" / "refunds.csv")
    assert len(orders) == 8 and len(refunds) == 3
    assert sum(int(r["amount_fen"]) for r in refunds) == 30_000
    only = plat.read(lambda c: export_books(c, tmp_path / "pq", 2, "parquet"))
    tables = {f.name: pq.read_table(f) for f in only}
    assert tables["orders-period-2.parquet"].column("amount_fen").to_pylist() == [1_000_000]
    assert set(tables["postings-period-2.parquet"].column("period").to_pylist()) == {2}
    assert set(tables["balances-period-2.parquet"].column("period").to_pylist()) == {2}
    assert tables["refunds-period-2.parquet"].num_rows == 0


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_the_export_command_writes_files_and_refuses_a_bad_format(
        city: City, tmp_path: Path, db_url: str) -> None:
    busy_books(city)
    gongsheng = shutil.which("gongsheng", path=str(Path(sys.executable).parent))
    assert gongsheng is not None
    done = subprocess.run([gongsheng, "export", "--db", db_url, "--out", str(tmp_path / "o"),
                           "--format", "beancount"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "books.beancount").exists()
    bad = subprocess.run([gongsheng, "export", "--db", db_url, "--out", str(tmp_path / "o"),
                          "--format", "xlsx"], capture_output=True, text=True)
    assert bad.returncode != 0
