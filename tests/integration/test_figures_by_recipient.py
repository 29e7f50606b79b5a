"""Figures are keyed by recipient: renaming a part changes no figure (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gongsheng.adapters.policy_file import default_policy_text, load_policy
from gongsheng.domain.figures import PaidByRecipient
from gongsheng.domain.ledger import AccountKind
from gongsheng.domain.policy import Recipient
from gongsheng.services.platform import Platform
from gongsheng.views import reports

from .helpers import system

if TYPE_CHECKING:
    from conftest import City


def test_platform_revenue_follows_the_recipient_not_the_part_name(
    db_url: str, tmp_path: Path, open_platform: Callable[..., Platform],
    make_city: Callable[[Platform], City],
) -> None:
    # the platform's part is called "service_fee"; the partner's part has "platform" in its name
    text = (default_policy_text().replace('name = "platform_fee"', 'name = "service_fee"')
            .replace('name = "partner_dividend"', 'name = "platform_partner_dividend"'))
    path = tmp_path / "renamed.toml"
    path.write_text(text, encoding="utf-8")
    plat = open_platform(db_url, load_policy(path))
    city = make_city(plat)
    order = city.order(100_000)
    paid = {a["part"]: a["amount_fen"] for a in order.allocations if a["party_id"] is not None}
    plat.close_period()
    figures = plat.read(reports.kpis)["periods"][-1]
    revenue = system(plat, AccountKind.PLATFORM_REVENUE)  # the ledger's platform revenue
    assert paid["service_fee"] > 0
    assert figures["platform_revenue_fen"] == paid["service_fee"] == abs(revenue)
    assert "service_fee" not in figures["incentives_fen"]
    assert figures["incentives_fen"]["platform_partner_dividend"] == paid["platform_partner_dividend"]
    assert figures["paid_by_recipient_fen"]["region_partner"] == paid["platform_partner_dividend"]
    assert figures["platform_share"] == "0.2000"
    # the figure's shape is the dataclass's, one key per recipient
    assert set(figures["paid_by_recipient_fen"]) == set(PaidByRecipient().as_dict()) == {
        r.value for r in Recipient}
