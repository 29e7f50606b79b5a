"""A refund's platform cover is what that refund takes from the pool beyond what it holds, no more."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gongsheng.domain.ledger import AccountKind
from gongsheng.services.platform import Platform

from .helpers import system
from .test_release import policy_with

if TYPE_CHECKING:
    from conftest import City


def test_a_refund_covers_its_own_share_not_the_pools_deficit(
    db_url: str, tmp_path: Path, open_platform: Callable[..., Platform],
    make_city: Callable[[Platform], City],
) -> None:
    plat = open_platform(db_url, policy_with(tmp_path, "promise"))
    city = make_city(plat)
    order = city.order(100_000)
    for _ in range(4):  # a forced promise releases beyond what the pool holds
        plat.close_period(force_promise=True)
    deficit = system(plat, AccountKind.POOL_AVAILABLE)
    assert deficit < 0
    refund = plat.refund(order.order_id, 100, city.key("refund"))
    share = (order.pool_fen * 100 * 2 + 100_000) // (2 * 100_000)  # the pool's part of 100 fen, half up
    assert share > 0
    assert refund.platform_cover_fen == share  # not share - deficit
    # the deficit stays the pool's; only vouchers taken back return to it
    assert system(plat, AccountKind.POOL_AVAILABLE) == deficit + refund.clawback_fen
    again = plat.refund(order.order_id, 100, city.key("refund"))
    assert again.platform_cover_fen == share  # still in deficit: its own share again


def test_the_cover_is_the_share_the_pool_does_not_hold() -> None:
    from gongsheng.services.refunding import refund_cover

    share = 9
    for available, cover in [(10_000, 0), (share, 0), (5, 4), (0, share), (-2_125, share)]:
        assert refund_cover(available, -share) == cover
    assert refund_cover(-2_125, 3) == 0  # a refund that pays into the pool needs no cover
