"""Reading the books from the tests: entry counts, trial balances, named balances, verification."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from gongsheng.adapters import tables as t
from gongsheng.domain.ledger import AccountKind, Asset, account_id, system_account
from gongsheng.services.platform import Platform
from gongsheng.views import verification


def entry_count(plat: Platform) -> int:
    """Journal entries stored so far."""
    with plat.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.journal_entries)).scalar_one())


def count_rows(plat: Platform, table: t.Table) -> int:
    with plat.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def snapshot(plat: Platform) -> tuple[dict[Any, int], int]:
    """The trial balance and the number of journal entries: what a refused write must not change."""
    return plat.trial_balance(), entry_count(plat)


def held(plat: Platform, party: int, kind: AccountKind) -> int:
    """A party's balance of one account kind (0 when it never moved)."""
    return plat.trial_balance().get((account_id(party, kind), kind.asset), 0)


def system(plat: Platform, kind: AccountKind) -> int:
    return plat.trial_balance().get((system_account(kind), kind.asset), 0)


def asset_sums(balances: dict[Any, int]) -> dict[Asset, int]:
    sums: dict[Asset, int] = defaultdict(int)
    for (_, asset), amount in balances.items():
        sums[asset] += amount
    return dict(sums)


def assert_verified(plat: Platform) -> None:
    """Every ``verify`` check holds (the failing ones are named in the assertion)."""
    checks = verification.verify(plat)
    assert len(checks) == len(verification.CHECKS)  # every check ran
    failed = [(c.name, c.detail) for c in checks if not c.ok]
    assert not failed, failed
