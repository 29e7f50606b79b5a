"""Pay codes on SQLite and PostgreSQL: vouchers move only with the consumer's one-time code.

- a voucher part without a code, or with a code that does not allow the sale (another
  consumer's, another merchant's, expired, used, revoked, too small), is refused and moves
  nothing; the refusal is the same whichever the reason;
- a code is used by one order only, even when many merchants race for it; a refused order
  leaves its code unused; a replay of a placed order needs no fresh code;
- only the code's hash is stored; the batch path refuses voucher parts without codes as well.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from gongsheng.adapters import tables as t
from gongsheng.domain import pay_codes as codes
from gongsheng.domain.errors import InsufficientBalance, InvalidInput, PayCodeRefused
from gongsheng.domain.ledger import AccountKind
from gongsheng.services import pay_codes
from gongsheng.services.batch import place_orders
from gongsheng.services.ordering import OrderRequest, OrderResult
from gongsheng.services.unit_of_work import UnitOfWork

from .helpers import assert_verified, held, snapshot
from .test_concurrency import at_once

if TYPE_CHECKING:
    from conftest import City

HELD = 5_000  # A's vouchers after two releases of 25.00
MERCHANTS = 8


@pytest.fixture
def stocked(city: City) -> City:
    """The worked example's city where A holds 50.00 of vouchers (settled)."""
    city.order(100_000)
    for _ in range(3):
        city.platform.close_period()
    assert city.platform.wallet(city.consumer).vouchers_fen == HELD
    return city


def _vouchers(city: City) -> int:
    return held(city.platform, city.consumer, AccountKind.VOUCHERS)


def _refused(city: City, req: OrderRequest, error: type[Exception] = PayCodeRefused) -> str:
    """``req`` is refused with ``error`` and changes nothing; the refusal's detail."""
    before = snapshot(city.platform)
    with pytest.raises(error) as raised:
        city.platform.order(req)
    assert snapshot(city.platform) == before
    return str(raised.value)


def test_a_voucher_part_needs_the_consumer_s_code(stocked: City) -> None:
    city, plat = stocked, stocked.platform
    detail = _refused(city, OrderRequest(city.consumer, city.merchant, 10_000, 2_000, "no-code"),
                      InvalidInput)
    assert "pay_code" in detail
    issued = plat.pay_code(city.consumer, 2_000)
    placed = plat.order(OrderRequest(city.consumer, city.merchant, 10_000, 2_000, "coded",
                                     issued.code))
    assert placed.voucher_fen == 2_000 and not placed.replayed
    assert _vouchers(city) == HELD - 2_000
    assert_verified(plat)


def test_every_refused_code_reads_the_same(stocked: City) -> None:
    city, plat = stocked, stocked.platform
    other = city.add_merchant("Other shop")
    now = pay_codes.now()

    def req(code: str, voucher: int = 1_000, merchant: int | None = None) -> OrderRequest:
        return OrderRequest(city.consumer, merchant or city.merchant, 10_000, voucher,
                            city.key("refused"), code)

    used = plat.pay_code(city.consumer, 1_000).code
    plat.order(req(used))
    revoked = plat.pay_code(city.consumer, 1_000).code
    assert plat.run(pay_codes.revoke, city.consumer) == 1
    cases = {
        "unknown": codes.display(codes.encode(12345)),
        "used": used,
        "revoked": revoked,
        "expired": plat.run(pay_codes.issue, city.consumer, 1_000,
                            at=now - dt.timedelta(seconds=pay_codes.DEFAULT_SECONDS + 1)).code,
        "another consumer's": plat.pay_code(city.referrer, 1_000).code,
        "bound to another merchant": plat.pay_code(city.consumer, 1_000, other).code,
        "below the voucher part": plat.pay_code(city.consumer, 999).code,
    }
    details = {name: _refused(city, req(code)) for name, code in cases.items()}
    assert len(set(details.values())) == 1, details
    assert _vouchers(city) == HELD - 1_000
    # the merchant a code is bound to may use it; typing it in lower case without hyphens works
    bound = plat.pay_code(city.consumer, 1_000, other).code
    assert plat.order(req(bound.replace("-", "").lower(), merchant=other)).voucher_fen == 1_000
    assert_verified(plat)


def test_a_refused_order_leaves_its_code_unused(stocked: City) -> None:
    city, plat = stocked, stocked.platform
    code = plat.pay_code(city.consumer, HELD + 1_000).code
    detail = _refused(city, OrderRequest(city.consumer, city.merchant, 10_000, HELD + 1,
                                         "too-much", code), InsufficientBalance)
    assert str(HELD) not in detail  # the merchant does not learn the balance
    placed = plat.order(OrderRequest(city.consumer, city.merchant, 10_000, HELD, "all", code))
    assert placed.voucher_fen == HELD and _vouchers(city) == 0


def test_a_replay_needs_no_fresh_code(stocked: City) -> None:
    city, plat = stocked, stocked.platform
    code = plat.pay_code(city.consumer, 2_000).code
    first = plat.order(OrderRequest(city.consumer, city.merchant, 10_000, 2_000, "once", code))
    for again in (code, None, codes.display(codes.encode(7))):
        replay = plat.order(OrderRequest(city.consumer, city.merchant, 10_000, 2_000, "once", again))
        assert replay.replayed and replay.order_id == first.order_id
    _refused(city, OrderRequest(city.consumer, city.merchant, 10_000, 2_000, "twice", code))
    assert _vouchers(city) == HELD - 2_000


def test_only_the_code_s_hash_is_stored(stocked: City) -> None:
    city, plat = stocked, stocked.platform
    issued = plat.pay_code(city.consumer, 2_000, city.merchant)
    with plat.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(t.pay_codes))]
    assert len(rows) == 1
    plain = issued.code.replace("-", "")
    assert hashlib.sha256(plain.encode()).hexdigest() in rows[0]
    assert not any(plain in str(v) or issued.code in str(v) for v in rows[0])
    assert (issued.max_voucher_fen, issued.merchant_id) == (2_000, city.merchant)


@pytest.mark.parametrize("bad", [0, -1, True, "100", 10**13])
def test_a_code_names_a_positive_integer_limit(city: City, bad: Any) -> None:
    with pytest.raises(InvalidInput, match="max_voucher_fen"):
        city.platform.pay_code(city.consumer, bad)


def test_a_code_bound_to_a_merchant_that_refuses_vouchers_is_not_issued(city: City) -> None:
    cash_only = city.add_merchant("Cash only", accepts_vouchers=False)
    with pytest.raises(InvalidInput, match="does not accept vouchers"):
        city.platform.pay_code(city.consumer, 1_000, cash_only)


def test_a_consumer_holds_a_bounded_number_of_live_codes(city: City) -> None:
    plat = city.platform
    issued = [plat.pay_code(city.consumer, 100).code for _ in range(pay_codes.MAX_LIVE + 3)]
    p = t.pay_codes
    with plat.engine.connect() as conn:
        live = conn.execute(select(p.c.code_hash).where(
            p.c.consumer_id == city.consumer, p.c.expires_at > pay_codes.now())).scalars().all()
    assert sorted(live) == sorted(codes.code_hash(c) for c in issued[-pay_codes.MAX_LIVE:])


def test_the_batch_path_refuses_voucher_parts_without_codes(stocked: City) -> None:
    city, plat = stocked, stocked.platform
    code = plat.pay_code(city.consumer, 1_500).code
    reqs = [OrderRequest(city.consumer, city.merchant, 10_000, 0, "b-cash"),
            OrderRequest(city.consumer, city.merchant, 10_000, 1_000, "b-none"),
            OrderRequest(city.consumer, city.merchant, 10_000, 1_000, "b-other",
                         plat.pay_code(city.referrer, 1_000).code),
            OrderRequest(city.consumer, city.merchant, 10_000, 1_500, "b-coded", code),
            OrderRequest(city.consumer, city.merchant, 10_000, 1_500, "b-again", code)]
    with UnitOfWork(plat.engine) as uow:
        out = place_orders(uow, reqs)
        uow.commit()
    kinds = [type(o) for o in out]
    assert kinds == [OrderResult, InvalidInput, PayCodeRefused, OrderResult, PayCodeRefused]
    assert _vouchers(city) == HELD - 1_500
    assert_verified(plat)


def test_many_merchants_race_for_one_consumer_s_vouchers(stocked: City) -> None:
    """Merchants spend A's vouchers at once: some with no code, some with B's code, some with the
    one code A issued. Only one sale moves vouchers, once; every other is refused."""
    city, plat = stocked, stocked.platform
    shops = [city.add_merchant(f"Shop {i}") for i in range(MERCHANTS)]
    code = plat.pay_code(city.consumer, 2_000).code
    others = plat.pay_code(city.referrer, 2_000).code
    reqs = [OrderRequest(city.consumer, shop, 10_000, 2_000, f"race-{i}",
                         (code, None, others, code)[i % 4]) for i, shop in enumerate(shops)]
    results = at_once(MERCHANTS, lambda i: plat.order(reqs[i]))
    placed = [i for i, r in enumerate(results) if isinstance(r, OrderResult)]
    assert len(placed) == 1 and reqs[placed[0]].pay_code == code, results
    for i, r in enumerate(results):
        if i not in placed:
            assert isinstance(r, InvalidInput if reqs[i].pay_code is None else PayCodeRefused), r
    assert _vouchers(city) == HELD - 2_000
    with plat.engine.connect() as conn:
        used = conn.execute(select(t.pay_codes.c.used_key).where(
            t.pay_codes.c.code_hash == codes.code_hash(code))).scalar_one()
    assert used == reqs[placed[0]].idempotency_key
    assert_verified(plat)


def test_one_coded_request_sent_many_times_is_placed_once(stocked: City) -> None:
    city, plat = stocked, stocked.platform
    req = city.request(10_000, 2_000, key="one-coded-key")
    results = at_once(MERCHANTS, lambda i: plat.order(req))
    assert all(isinstance(r, OrderResult) for r in results), results
    assert len({r.order_id for r in results}) == 1 and sum(not r.replayed for r in results) == 1
    assert _vouchers(city) == HELD - 2_000
    assert_verified(plat)
