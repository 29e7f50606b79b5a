"""Placing orders: concession, waterfall, points, vouchers, one balanced entry per order.

An order is written in one transaction: the order row (unique idempotency key), its journal
entry, the balance rows, the holdings of points (starting to release next period), the release
group's points and the period's counters. The same key with the same body returns the first
result, with another body a conflict; a key is never posted twice.

An order that spends vouchers carries the consumer's pay code (:mod:`services.pay_codes`), used
up in the order's transaction before the consumer's balance is read: without the consumer's act
no voucher moves, and a refusal tells the merchant nothing of the consumer's balance. Orders
without a voucher part never look at codes, so the cash path is unchanged. The pay code is not
part of the request's body hash: a replay of a placed order needs no fresh code.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    any_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from gongsheng.adapters import tables as t
from gongsheng.adapters.bulk import upsert_add
from gongsheng.adapters.earnings_store import earnings_rows
from gongsheng.adapters.ledger_store import post
from gongsheng.adapters.order_store import OrderRows, insert_orders_pg, sales_totals
from gongsheng.adapters.risk_store import VELOCITY_LOCKS, velocity_key
from gongsheng.domain.errors import (
    GongshengError,
    InsufficientBalance,
    InvalidInput,
    NotFound,
    PartyFrozen,
    PayCodeRefused,
)
from gongsheng.domain.events import OrderPlaced
from gongsheng.domain.holds import cash_earnings
from gongsheng.domain.ledger import PLATFORM_PARTY_ID, AccountKind, EntryKind, JournalEntry
from gongsheng.domain.orders import (
    OrderAmounts,
    OrderParties,
    award_points,
    check_voucher_balance,
    check_voucher_terms,
    order_legs,
    platform_parts,
    voucher_cost,
)
from gongsheng.domain.policy import Policy, Recipient, RiskRule
from gongsheng.domain.waterfall import Beneficiaries, split_order
from gongsheng.services import pay_codes
from gongsheng.services.books import (
    OpenPeriod,
    add_counters,
    current_policy,
    open_period,
    policy_version,
    read_policies,
)
from gongsheng.services.holdings import settle
from gongsheng.services.idempotency import check_key, request_hash, same_request
from gongsheng.services.unit_of_work import BOOKS_LOCK, RetryTransaction, UnitOfWork
from gongsheng.services.velocity import caps, check_velocity, lock_velocity, refuse_over

MAX_ORDER_FEN = 10**12
IDENTIFIERS = ("payment_ref", "device_id")
_IDENTIFIER = re.compile(r"[\x21-\x7e]{1," + str(t.IDENTIFIER_LENGTH) + "}")
_stripes = random.Random()


def check_identifier(name: str, value: object) -> None:
    """Refuse an identifier that is not 1 to ``IDENTIFIER_LENGTH`` visible ASCII characters."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise InvalidInput(f"{name} must be a string of 1 to {t.IDENTIFIER_LENGTH} visible "
                           "ASCII characters (no spaces)")


@dataclass(frozen=True)
class OrderRequest:
    """An order as the merchant's or payment side reports it (never declared by the consumer).

    ``pay_code`` is the consumer's consent to the voucher part (required when ``voucher_fen``
    is positive, refused otherwise); it is a credential, not part of :meth:`body`.
    """

    consumer_id: int
    merchant_id: int
    amount_fen: int
    voucher_fen: int = 0
    idempotency_key: str = ""
    pay_code: str | None = None
    payment_ref: str | None = None
    """A hash of the paying instrument, from the payment side (feeds the risk detectors)."""
    device_id: str | None = None
    """The paying device, from the payment side (feeds the risk detectors)."""

    def body(self) -> dict[str, int | str]:
        """What the request's hash covers: the identifiers only when given, so that an order
        without them hashes as it did before they existed."""
        out: dict[str, int | str] = {
            "consumer_id": self.consumer_id, "merchant_id": self.merchant_id,
            "amount_fen": self.amount_fen, "voucher_fen": self.voucher_fen}
        if self.payment_ref is not None:
            out["payment_ref"] = self.payment_ref
        if self.device_id is not None:
            out["device_id"] = self.device_id
        return out

    def validate(self) -> None:
        check_key(self.idempotency_key)
        for name, value in self.body().items():
            if name in IDENTIFIERS:
                check_identifier(name, value)
            elif not isinstance(value, int) or isinstance(value, bool):
                raise InvalidInput(f"{name} must be an integer")
        if not 0 < self.amount_fen <= MAX_ORDER_FEN:
            raise InvalidInput(f"amount_fen must be between 1 and {MAX_ORDER_FEN}")
        if not 0 <= self.voucher_fen <= self.amount_fen:
            raise InvalidInput("voucher_fen must lie between 0 and amount_fen")
        if self.pay_code is not None and not self.voucher_fen:
            raise InvalidInput("pay_code is only for an order that spends vouchers (voucher_fen > 0)")


@dataclass(frozen=True)
class OrderResult:
    """A placed order: its figures, the waterfall and the points awarded."""

    order_id: int
    period: int
    consumer_id: int
    merchant_id: int
    channel: str
    amount_fen: int
    voucher_fen: int
    voucher_cost_fen: int
    concession_rate: str
    concession_fen: int
    allocations: tuple[dict[str, Any], ...]
    pool_fen: int
    consumer_cpts: int
    merchant_cpts: int
    referrer_id: int | None
    referrer_cpts: int
    refunded_fen: int
    replayed: bool = False


@dataclass(frozen=True)
class OrderContext:
    """What the waterfall needs to know of the consumer, the merchant and the roles around them."""

    merchant_channel: str
    merchant_region: int
    merchant_rate: Decimal
    contract_rate: Decimal
    accepts_vouchers: bool
    beneficiaries: Beneficiaries
    referrer_id: int | None
    first_order_pending: bool
    last_active_period: int | None
    consumer_frozen: bool = False
    """A frozen consumer's voucher spends are refused (its cash orders are not)."""


def _frozen(party: Any) -> Any:
    """Whether ``party`` (a column) is frozen now: an indexed look-up of its open freeze."""
    f = t.party_freezes.c
    return exists().where(f.party_id == party, f.unfrozen_at.is_(None))


_HOME = aliased(t.merchants)  # built once: aliasing a table per call costs ~0.7 ms


def _context_query(consumer_ids: Any, merchant_id: Any) -> Any:
    c, m, p, pr = t.consumers, t.merchants, t.partners, t.promoters
    home = _HOME
    return (
        select(m.c.channel, m.c.region_id, m.c.concession_rate, m.c.bm_id, m.c.bm_rate,
               m.c.promoter_id, m.c.accepts_vouchers, m.c.active, p.c.party_id,
               c.c.referrer_id, c.c.home_merchant_id, c.c.first_order_key,
               c.c.last_active_period, home.c.party_id, m.c.party_id, c.c.party_id,
               _frozen(m.c.party_id).label("merchant_frozen"),
               _frozen(c.c.party_id).label("consumer_frozen"))
        .select_from(m.outerjoin(p, (p.c.region_id == m.c.region_id) & p.c.active))
        .join(c, consumer_ids(c.c.party_id))
        .outerjoin(home, home.c.party_id == c.c.home_merchant_id)
        .outerjoin(pr, pr.c.party_id == m.c.promoter_id)
        .where(merchant_id(m.c.party_id))
    )


_ONE_CONTEXT = _context_query(lambda col: col == bindparam("consumer_id"),
                              lambda col: col == bindparam("merchant_id"))
_MERCHANTS = (
    select(t.merchants.c.channel, t.merchants.c.region_id, t.merchants.c.concession_rate,
           t.merchants.c.bm_id, t.merchants.c.bm_rate, t.merchants.c.promoter_id,
           t.merchants.c.accepts_vouchers, t.merchants.c.active, t.partners.c.party_id,
           _frozen(t.merchants.c.party_id), t.merchants.c.party_id)
    .select_from(t.merchants.outerjoin(t.partners, (t.partners.c.region_id == t.merchants.c.region_id)
                                       & t.partners.c.active))
    .where(t.merchants.c.party_id.in_(bindparam("ids", expanding=True))))
_CONSUMERS = (
    select(t.consumers.c.referrer_id, t.consumers.c.home_merchant_id, t.consumers.c.first_order_key,
           t.consumers.c.last_active_period, _frozen(t.consumers.c.party_id),
           t.consumers.c.party_id)
    .where(t.consumers.c.party_id.in_(bindparam("ids", expanding=True))))


def _context_of(row: Any, merchant_id: int) -> OrderContext:
    (channel, region, rate, bm_id, bm_rate, promoter, accepts, active, partner, referrer,
     home_id, first_key, last_active, _, _, _, merchant_frozen, consumer_frozen) = row
    if not active:
        raise InvalidInput(f"merchant {merchant_id} is not active")
    if merchant_frozen:
        raise PartyFrozen(f"merchant {merchant_id} is frozen for review: it cannot take orders "
                          "until an administrator unfreezes it")
    return OrderContext(
        merchant_channel=channel, merchant_region=int(region), merchant_rate=Decimal(rate),
        contract_rate=Decimal(bm_rate) if bm_rate is not None else Decimal(0),
        accepts_vouchers=bool(accepts),
        beneficiaries=Beneficiaries(
            platform=PLATFORM_PARTY_ID, region_partner=partner, signing_promoter=promoter,
            bound_bm=bm_id,
            home_merchant=home_id if home_id is not None and home_id != merchant_id else None),
        referrer_id=referrer, first_order_pending=first_key is None,
        last_active_period=last_active, consumer_frozen=bool(consumer_frozen),
    )


def _missing(conn: Connection, consumer_id: int, merchant_id: int) -> NotFound:
    c = t.consumers
    known = conn.execute(select(c.c.party_id).where(c.c.party_id == consumer_id)).first()
    return NotFound(f"consumer {consumer_id} does not exist" if known is None
                    else f"merchant {merchant_id} does not exist")


def _context(conn: Connection, consumer_id: int, merchant_id: int) -> OrderContext:
    row = conn.execute(_ONE_CONTEXT, {"consumer_id": consumer_id, "merchant_id": merchant_id}).first()
    if row is None:
        raise _missing(conn, consumer_id, merchant_id)
    return _context_of(row, merchant_id)


def contexts(conn: Connection, pairs: Sequence[tuple[int, int]]
             ) -> dict[tuple[int, int], OrderContext | GongshengError]:
    """The context of each ``(consumer, merchant)`` pair in one query (an error where it has none)."""
    merchants = {int(r[-1]): tuple(r) for r in conn.execute(
        _MERCHANTS, {"ids": sorted({m for _, m in pairs})})}
    consumers = {int(r[-1]): tuple(r) for r in conn.execute(
        _CONSUMERS, {"ids": sorted({c for c, _ in pairs})})}
    rows = {(c, m): (*merchants[m][:9], *consumers[c][:4], None, m, c, merchants[m][9],
                     consumers[c][4])
            for c, m in set(pairs) if c in consumers and m in merchants}
    out: dict[tuple[int, int], OrderContext | GongshengError] = {}
    for consumer, merchant in set(pairs):
        row = rows.get((consumer, merchant))
        try:
            out[(consumer, merchant)] = (_context_of(row, merchant) if row is not None
                                         else _missing(conn, consumer, merchant))
        except GongshengError as err:
            out[(consumer, merchant)] = err
    return out


def _result(row: Any, replayed: bool, parts: Sequence[Sequence[Any]] | None = None) -> OrderResult:
    allocations = tuple(
        {"part": a[0], "recipient": a[1], "party_id": a[2], "amount_fen": a[3],
         "vacant": a[2] is None}
        for a in (json.loads(row.allocations) if parts is None else parts)
    )
    return OrderResult(
        order_id=int(row.id), period=int(row.period), consumer_id=int(row.consumer_id),
        merchant_id=int(row.merchant_id), channel=row.channel, amount_fen=int(row.amount_fen),
        voucher_fen=int(row.voucher_fen), voucher_cost_fen=int(row.voucher_cost_fen),
        concession_rate=row.concession_rate, concession_fen=int(row.concession_fen),
        allocations=allocations, pool_fen=int(row.pool_fen),
        consumer_cpts=int(row.consumer_cpts), merchant_cpts=int(row.merchant_cpts),
        referrer_id=row.referrer_id, referrer_cpts=int(row.referrer_cpts),
        refunded_fen=int(row.refunded_fen), replayed=replayed)


def order_result(row: Any) -> OrderResult:
    """The result of a stored order row (as read back, not a replay)."""
    return _result(row, replayed=False)


def get_order(conn: Connection, order_id: int) -> OrderResult:
    row = conn.execute(select(t.orders).where(t.orders.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist")
    return _result(row, replayed=False)


def find_by_key(conn: Connection, key: str, body_hash: str) -> OrderResult | None:
    """The order first placed with ``key`` (a replay), or None; 409 if its body differed."""
    row = conn.execute(select(t.orders).where(t.orders.c.idem_key == key)).first()
    if row is None:
        return None
    same_request(row.request_hash, body_hash, key)
    return _result(row, replayed=True)


def begin_order(conn: Connection, req: OrderRequest) -> tuple[str, OrderResult | None]:
    """Validate a request; ``(body hash, the first result if its key was used already)``."""
    req.validate()
    body_hash = request_hash(req.body())
    return body_hash, find_by_key(conn, req.idempotency_key, body_hash)


def check_vouchers(conn: Connection, req: OrderRequest, period: int, policy: Policy,
                   ctx: OrderContext) -> None:
    """Refuse a voucher part the merchant or the channel does not allow, use the consumer's pay
    code up (refused unless it allows this sale), then settle the consumer and refuse a part
    its balance does not cover. In that order: nothing of the consumer is read without its code.
    """
    if not req.voucher_fen:
        return
    check_voucher_terms(policy, req.amount_fen, req.voucher_fen,
                        at_mall=ctx.merchant_channel == "mall", merchant_accepts=ctx.accepts_vouchers)
    if req.pay_code is None:
        raise InvalidInput("an order that spends vouchers needs the consumer's pay_code")
    pay_codes.use(conn, req.pay_code, consumer_id=req.consumer_id, merchant_id=req.merchant_id,
                  voucher_fen=req.voucher_fen, key=req.idempotency_key)
    if ctx.consumer_frozen:
        raise PartyFrozen(f"consumer {req.consumer_id}'s vouchers are frozen for review: the "
                          "order cannot spend them (it may be paid in cash)")
    held = settle(conn, req.consumer_id, period).balances[AccountKind.VOUCHERS]
    check_voucher_balance(req.voucher_fen, held)


def _check_vouchers_or_replay(conn: Connection, req: OrderRequest, body_hash: str, period: int,
                              policy: Policy, ctx: OrderContext) -> OrderResult | None:
    """Check the voucher part; if it fails because a request with the same key committed while
    this one waited for the pay code's row or the consumer's lock, return that first result
    instead (a replay)."""
    try:
        check_vouchers(conn, req, period, policy, ctx)
    except (InsufficientBalance, PayCodeRefused):
        replay = find_by_key(conn, req.idempotency_key, body_hash)
        if replay is None:
            raise
        return replay
    return None


def claim_first_order(conn: Connection, req: OrderRequest, ctx: OrderContext) -> bool:
    """Whether this is the consumer's first order (recording its key if so)."""
    if not ctx.first_order_pending:
        return False
    return conn.execute(
        update(t.consumers).where(t.consumers.c.party_id == req.consumer_id,
                                  t.consumers.c.first_order_key.is_(None))
        .values(first_order_key=req.idempotency_key)).rowcount == 1


def compute_order(req: OrderRequest, body_hash: str, period: OpenPeriod, policy: Policy,
                  ctx: OrderContext, first: bool) -> OrderRows:
    """Every row an order writes (pure: the waterfall, points, entry, holdings and counters)."""
    at_mall = ctx.merchant_channel == "mall"
    split = split_order(policy, req.amount_fen, ctx.merchant_rate, ctx.contract_rate,
                        ctx.beneficiaries)
    points = award_points(policy, req.amount_fen, split.concession_fen, first_order=first,
                          has_referrer=ctx.referrer_id is not None)
    cost = voucher_cost(policy, req.voucher_fen, at_mall=at_mall)
    amounts = OrderAmounts.of(split, req.voucher_fen, cost, points)
    referrer = ctx.referrer_id if points.referrer_cpts else None
    parts = [[a.part, a.recipient.value, a.party_id, a.amount_fen] for a in split.allocations]
    values: dict[str, Any] = {
        "idem_key": req.idempotency_key, "request_hash": body_hash,
        "consumer_id": req.consumer_id, "merchant_id": req.merchant_id,
        "channel": ctx.merchant_channel, "region_id": ctx.merchant_region, "period": period.seq,
        "policy_version_id": period.policy_version_id, "amount_fen": req.amount_fen,
        "voucher_fen": req.voucher_fen, "voucher_cost_fen": cost,
        "concession_fen": split.concession_fen, "concession_rate": str(ctx.merchant_rate),
        "contract_rate": str(ctx.contract_rate), "pool_fen": split.pool_fen,
        "allocations": json.dumps(parts),
        "consumer_cpts": points.consumer_cpts, "merchant_cpts": points.merchant_cpts,
        "referrer_id": referrer, "referrer_cpts": points.referrer_cpts, "refunded_fen": 0,
        "payment_ref": req.payment_ref, "device_id": req.device_id,
    }
    parties = OrderParties(req.consumer_id, req.merchant_id, referrer,
                           tuple(a.party_id for a in split.allocations), platform_parts(policy))
    entry = JournalEntry.build(EntryKind.ORDER, order_legs(amounts, parties), "order")
    assert entry is not None
    awards = merge_awards([
        (req.consumer_id, policy.consumer_cap_multiple, points.consumer_cpts),
        (req.merchant_id, policy.merchant_cap_multiple, points.merchant_cpts),
        (referrer, policy.consumer_cap_multiple, points.referrer_cpts),
    ])
    start = period.seq + 1
    per_group: dict[str, int] = {}
    for (_, m), p in awards.items():
        per_group[m] = per_group.get(m, 0) + p
    earned = cash_earnings((p.account, p.asset, p.amount) for p in entry.postings)
    return OrderRows(
        order=values, entry=entry, earnings=tuple(earned.items()),
        holdings=tuple((h, start, m, p) for (h, m), p in awards.items()),
        group_points=tuple((start, m, p) for m, p in per_group.items()),
        counters={"orders": 1, **order_counters(amounts, split.allocations, ctx.merchant_channel)},
        activate=ctx.last_active_period != period.seq,
        parts=tuple(tuple(p) for p in parts), referred_by=ctx.referrer_id if first else None)


def merge_awards(awards: Sequence[tuple[int | None, Decimal, int]]) -> dict[tuple[int, str], int]:
    """``(holder, multiple, points)`` merged per holding; absent holders and zeros dropped."""
    merged: dict[tuple[int, str], int] = {}
    for holder, multiple, pts in awards:
        if holder is None or not pts:
            continue
        key = (holder, str(multiple))
        merged[key] = merged.get(key, 0) + pts
    return merged


def write_orders(uow: UnitOfWork, batch: Sequence[OrderRows],
                 rule: RiskRule | None = None) -> list[OrderResult]:
    """Write computed orders and record their ``order.placed`` events; their results. With a
    ``rule`` that caps velocity, an order over a cap is refused (``services.velocity``; the
    caller rolls back, as for any error here).

    PostgreSQL: one statement for the whole batch, which also writes the events recorded so far
    and the orders' own (recorded with the order id as a slot, filled in by the statement), so
    an order costs no statement for its event, and counts the orders before each for the caps
    (the order's velocity lock held since its first statement). Otherwise statement by
    statement, each order counted before it is written, the events recorded after each order is
    written (the commit writes them).
    """
    conn = uow.conn
    capped = rule if rule is not None and rule.caps_velocity else None
    if conn.dialect.name == "postgresql" and not any(r.takes_from_nonnegative for r in batch):
        drafts = [_placed_result(0, rows) for rows in batch]  # 0: the id is not drawn yet
        with uow.outbox() as events:
            for draft, rows in zip(drafts, batch, strict=True):
                uow.record(order_placed(draft), slot=("order_id", rows.order["idem_key"]))
            written = insert_orders_pg(conn, batch, _stripes.randrange(t.STRIPES), events,
                                       caps(capped) if capped is not None else (None, None))
            for rows, counts in zip(batch, written.counts, strict=True):
                confirm_period(rows.order["period"], written.open_seq)
                if capped is not None:
                    _refuse_over(capped, rows, counts)
        return [replace(d, order_id=i) for d, i in zip(drafts, written.ids, strict=True)]
    results = []
    for rows in batch:
        period = rows.order["period"]
        if capped is not None:
            check_velocity(conn, capped, consumer_id=rows.order["consumer_id"],
                           merchant_id=rows.order["merchant_id"], period=period)
        order_id = int(conn.execute(insert(t.orders).returning(t.orders.c.id),
                                    rows.order).scalar_one())
        post(conn, replace(rows.entry, memo=f"order {order_id}"), period, order_id,
             along=[sales_totals(rows, _stripes.randrange(t.STRIPES))])
        upsert_add(conn, t.holdings, ("holder_id", "start_period", "multiple"), ("points_cpts",),
                   list(rows.holdings))
        stripe = _stripes.randrange(t.STRIPES)
        upsert_add(conn, t.group_points, ("start_period", "multiple", "stripe"), ("points_cpts",),
                   [(s, m, stripe, p) for s, m, p in rows.group_points])
        add_counters(conn, period, rows.counters)
        earnings_rows(dict(rows.earnings), period, stripe).write(conn)
        if rows.activate:
            became_active = conn.execute(
                update(t.consumers).where(
                    t.consumers.c.party_id == rows.order["consumer_id"],
                    (t.consumers.c.last_active_period.is_(None))
                    | (t.consumers.c.last_active_period != period))
                .values(last_active_period=period)).rowcount
            add_counters(conn, period, {"active_consumers": became_active})
        result = _placed_result(order_id, rows)
        uow.record(order_placed(result))
        results.append(result)
    return results


def _refuse_over(rule: RiskRule, rows: OrderRows, counts: tuple[int, int]) -> None:
    """Refuse the written order ``rows`` if the orders before it (``counts``) fill a cap."""
    order = rows.order
    refuse_over(rule, counts, consumer_id=order["consumer_id"], merchant_id=order["merchant_id"],
                period=order["period"])


def _placed_result(order_id: int, rows: OrderRows) -> OrderResult:
    """The result of an order written with id ``order_id``."""
    return _result(SimpleNamespace(id=order_id, **rows.order), replayed=False,
                   parts=rows.parts or None)


def order_placed(result: OrderResult) -> OrderPlaced:
    """The ``order.placed`` event of a placed order."""
    return OrderPlaced(
        period=result.period, order_id=result.order_id, consumer_id=result.consumer_id,
        merchant_id=result.merchant_id, channel=result.channel, amount_fen=result.amount_fen,
        voucher_fen=result.voucher_fen, concession_fen=result.concession_fen,
        pool_fen=result.pool_fen, consumer_cpts=result.consumer_cpts,
        merchant_cpts=result.merchant_cpts, referrer_id=result.referrer_id,
        referrer_cpts=result.referrer_cpts,
        allocations=tuple({"part": a["part"], "recipient": a["recipient"],
                           "party_id": a["party_id"], "amount_fen": a["amount_fen"]}
                          for a in result.allocations))


def place_order(uow: UnitOfWork, req: OrderRequest) -> OrderResult:
    """Place one order in the unit of work (the caller commits).

    Steps: validate, take the books lock shared, replay a used key, read the open period and
    the context, check vouchers (and use the pay code up), claim the consumer's first order,
    compute and write, checking the period and the velocity cap (``services.velocity``); the
    order's identifiers are stored with it, for the close's ring detectors (``services.rings``).
    PostgreSQL does the locks (books, and the consumer's velocity lock when the policy caps
    velocity), the reads and the claim in one round trip (:func:`_begin_pg`) and the write and
    the velocity counts in another; SQLite one query per step. An error raised after the write
    (the period closed meanwhile, a velocity cap reached) leaves it to the caller's rollback
    (``Platform.run``, the batch's savepoint) to take the write back.
    """
    conn = uow.conn
    if uow.postgres:
        capped = [v for v, p in read_policies(conn).items() if p.risk.caps_velocity]
        begun = _begin_pg(conn, req, capped)
        if isinstance(begun, OrderResult):  # a replay
            return begun
        body_hash, period, ctx, first = begun
        policy = policy_version(conn, period.policy_version_id)
        if policy.risk.caps_velocity and period.policy_version_id not in capped:
            lock_velocity(conn, req.consumer_id)  # a policy version _begin_pg did not know
        if req.voucher_fen:  # the claim above is undone with the transaction if this refuses
            confirm_period(period.seq, open_period(conn).seq)  # its write does not check
            replay = _check_vouchers_or_replay(conn, req, body_hash, period.seq, policy, ctx)
            if replay is not None:
                return replay
    else:
        body_hash, replay = begin_order(conn, req)
        if replay is not None:
            return replay
        uow.lock_books()
        period, policy = current_policy(conn)
        ctx = _context(conn, req.consumer_id, req.merchant_id)
        replay = _check_vouchers_or_replay(conn, req, body_hash, period.seq, policy, ctx)
        if replay is not None:
            return replay
        first = claim_first_order(conn, req, ctx)
    rows = compute_order(req, body_hash, period, policy, ctx, first)
    [result] = write_orders(uow, [rows], policy.risk)
    return result


# PostgreSQL: every read of place_order, the books lock and the first-order claim in one
# statement. In READ COMMITTED a statement reads the snapshot taken when it started, so the
# period it reads may predate a close that held the lock while the statement waited for it. The
# write checks that: its own statement starts after the lock is held and returns the period open
# then; if that is not the period the order was computed for, the transaction is run again
# (:class:`RetryTransaction`). Closes are rare; the retry almost never happens. PostgreSQL
# evaluates the lock (first in the select list) before the claim's UPDATE runs, so the consumer
# row is not held while the order waits behind a close; SQL does not promise that order, but if
# it changed the cost would be that wait, not a wrong result. The consumer's velocity lock comes
# second, taken only when the open period's policy version is one of those given as capping
# velocity (``pg_advisory_xact_lock`` is strict: a NULL key takes nothing); the counts it guards
# are read by the order's write, a later statement (``services.velocity``).
_CTX = _ONE_CONTEXT.subquery("ctx")
_VELOCITY_LOCK = func.pg_advisory_xact_lock(
    literal_column(str(VELOCITY_LOCKS)),
    case((t.periods.c.policy_version_id == any_(bindparam("capped", type_=ARRAY(BigInteger))),
          bindparam("velocity_key", type_=Integer))))
_CLAIM = (update(t.consumers)
          .where(t.consumers.c.party_id == bindparam("consumer_id"),
                 t.consumers.c.first_order_key.is_(None),
                 ~exists().where(t.orders.c.idem_key == bindparam("key")))  # not for a replay
          .values(first_order_key=bindparam("key"))
          .returning(t.consumers.c.party_id).cte("claim"))
_BEGIN_PG = (
    select(func.pg_advisory_xact_lock_shared(literal_column(str(BOOKS_LOCK))), _VELOCITY_LOCK,
           select(t.orders.c.id).where(t.orders.c.idem_key == bindparam("key")).scalar_subquery(),
           t.periods.c.seq, t.periods.c.policy_version_id, t.periods.c.starts_on,
           select(func.count()).select_from(_CLAIM).scalar_subquery(), *_CTX.c)
    .select_from(t.periods.outerjoin(_CTX, true()))
    .where(t.periods.c.status == "open"))


def _begin_pg(conn: Connection, req: OrderRequest, capped: Sequence[int]
              ) -> OrderResult | tuple[str, OpenPeriod, OrderContext, bool]:
    """Validate; in one round trip take the books lock shared (and the consumer's velocity lock
    if the open period's policy version is one of ``capped``), look the key up, read the open
    period and the order's context and claim the consumer's first order. Returns the first
    result of a used key (read in a second round trip), or ``(body hash, period, context,
    whether this is the consumer's first order)``.

    When the order is refused afterwards (unknown party, inactive merchant, vouchers, another
    body under the same key) the transaction, and with it the claim, is rolled back.
    """
    req.validate()
    body_hash = request_hash(req.body())
    row = conn.execute(_BEGIN_PG, {
        "consumer_id": req.consumer_id, "merchant_id": req.merchant_id,
        "key": req.idempotency_key, "capped": list(capped),
        "velocity_key": velocity_key(req.consumer_id)}).first()
    if row is None:
        raise NotFound("the books have no open period (run a migration / open the books first)")
    period = OpenPeriod(int(row[3]), int(row[4]), str(row[5]))
    if row[2] is not None:  # the whole order row is read only for a replay
        replay = find_by_key(conn, req.idempotency_key, body_hash)
        assert replay is not None
        return replay
    ctx_row = tuple(row[7:])
    if ctx_row[14] is None:
        raise _missing(conn, req.consumer_id, req.merchant_id)
    ctx = _context_of(ctx_row, req.merchant_id)
    return body_hash, period, ctx, bool(row[6]) and ctx.first_order_pending


def confirm_period(period: int, open_seq: int) -> None:
    """Refuse to go on with ``period`` if ``open_seq`` (read under the books lock) is another."""
    if open_seq != period:
        raise RetryTransaction(f"period {period} was closed while the order was read; retry")


def order_counters(amounts: OrderAmounts, allocations: Any, channel: str,
                   sign: int = 1) -> dict[str, int]:
    """The period counters an order (or, with ``sign=-1``, a refund) moves."""
    out = {
        "gmv_fen": amounts.gross_fen, f"gmv_fen:{channel}": amounts.gross_fen,
        "concession_fen": amounts.concession_fen, "pool_in_fen": amounts.pool_fen,
        "vouchers_spent_fen": amounts.voucher_fen, "voucher_cost_fen": amounts.voucher_cost_fen,
        "points_consumer_cpts": amounts.points.consumer_cpts,
        "points_merchant_cpts": amounts.points.merchant_cpts,
        "points_referral_cpts": amounts.points.referrer_cpts,
    }
    for alloc, amount in zip(allocations, amounts.parts_fen, strict=True):
        key = "vacant_to_pool_fen" if alloc.party_id is None else f"part:{alloc.part}"
        out[key] = out.get(key, 0) + amount
        if alloc.party_id is not None:  # what each recipient was paid (figures.PaidParts)
            paid = f"to:{alloc.recipient.value}"
            out[paid] = out.get(paid, 0) + amount
        if alloc.party_id is not None and alloc.recipient is not Recipient.PLATFORM:
            out["incentives_fen"] = out.get("incentives_fen", 0) + amount
    return {k: sign * v for k, v in out.items()}
