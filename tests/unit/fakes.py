"""A unit of work with in-memory stores: the use cases on the stores, without a database.

:class:`FakeBooks` is what the fake keeps (the tables' content, as plain Python values);
:class:`FakeUnitOfWork` is one transaction on it: it works on a copy of the books and puts the
copy back only at :meth:`FakeUnitOfWork.commit`, with the events and audit records recorded, so
a unit of work left without committing changes nothing. Every store subclasses its Protocol, so
mypy holds each one to the port it stands in for (``mypy tests/unit/fakes.py``).

The fake does what the SQL stores do and no more: a must-stay-positive balance refuses to go
negative (nothing of the entry is posted), a group's points are the sum of its holdings', a
period's counters are only added to, an order is never refunded beyond its amount. Locks are
noted (``locks``), not taken: a fake unit of work has no concurrent writer. The close's steps
of other concepts are inert: the fake stores no forecast (no outlook), its risk detectors find
nothing, and it keeps no seals.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import SimpleNamespace, TracebackType
from typing import Any, cast

from gongsheng.adapters.orders import order_record
from gongsheng.domain.audit import AuditRecord
from gongsheng.domain.errors import GongshengError, InsufficientBalance, InvalidInput, NotFound, PartyFrozen
from gongsheng.domain.events import Event, Recorded, filled
from gongsheng.domain.holdings import GroupRow, Holding, HoldingRow, unreleased
from gongsheng.domain.holds import cash_earnings
from gongsheng.domain.ledger import (
    PLATFORM_PARTY_ID,
    AccountKind,
    Asset,
    JournalEntry,
    account_id,
    account_name,
    describe_account,
)
from gongsheng.domain.orders import Counts, OrderContext, OrderRows, OrderStart, Written
from gongsheng.domain.payouts import PayoutRecord
from gongsheng.domain.periods import OpenPeriod, PeriodClose, PeriodRecord, period_end
from gongsheng.domain.policy import Controller, Policy, RiskRule
from gongsheng.domain.programmes import Programme
from gongsheng.domain.refunds import OrderRecord, RefundRecord
from gongsheng.domain.release import GroupState, Outlook
from gongsheng.domain.waterfall import Beneficiaries
from gongsheng.services.ports.cases import CaseStore
from gongsheng.services.ports.closing import ClosingStore
from gongsheng.services.ports.external_ids import ExternalIdStore
from gongsheng.services.ports.forecasts import ForecastStore
from gongsheng.services.ports.freezes import FreezeStore
from gongsheng.services.ports.holdings import HoldingStore
from gongsheng.services.ports.ledger import LedgerStore
from gongsheng.services.ports.orders import OrderStore
from gongsheng.services.ports.parties import PartyStore
from gongsheng.services.ports.periods import PeriodStore
from gongsheng.services.ports.policies import PolicyStore
from gongsheng.services.ports.programmes import ProgrammeStore
from gongsheng.services.ports.requests import RequestStore
from gongsheng.services.ports.risk import RiskStore
from gongsheng.services.ports.seals import SealStore
from gongsheng.services.ports.wallets import WalletStore
from gongsheng.services.ports.webhooks import WebhookStore
from gongsheng.services.ports.work import Work

Group = tuple[int, Decimal]  # (start period, multiple)


@dataclass
class FakeMerchant:
    """A merchant's terms, as an order's context reads them (``tables.merchants``)."""

    channel: str = "local"
    region: int = 1
    rate: Decimal = Decimal("0.10")
    bm_id: int | None = None
    bm_rate: Decimal | None = None
    promoter_id: int | None = None
    accepts_vouchers: bool = True


@dataclass
class FakeConsumer:
    """A consumer as an order reads and marks it (``tables.consumers``)."""

    referrer_id: int | None = None
    home_merchant_id: int | None = None
    first_order_key: str | None = None
    last_active_period: int | None = None


@dataclass
class FakePayCode:
    """A pay code's row (``tables.pay_codes``)."""

    consumer_id: int
    max_voucher_fen: int
    expires_at: dt.datetime
    merchant_id: int | None = None
    used_key: str | None = None


@dataclass
class FakeBooks:
    """The books as the fake keeps them. Keys mirror the tables' keys; a holding is
    ``[points, settled]``, a release group ``[fraction, issued, points]`` (its row, written by
    closes), and ``group_points`` the points per group that orders and take-backs move."""

    parties: dict[int, str] = field(default_factory=dict)  # id -> kind
    frozen: set[int] = field(default_factory=set)
    merchants: dict[int, bool] = field(default_factory=dict)  # id -> active
    regions: list[tuple[int, str, int]] = field(default_factory=list)
    balances: dict[tuple[int, Asset], int] = field(default_factory=dict)
    entries: list[tuple[JournalEntry, int, int | None]] = field(default_factory=list)
    earnings: dict[tuple[int, int], int] = field(default_factory=dict)  # (party, period) -> fen
    holdings: dict[tuple[int, int, Decimal], list[int]] = field(default_factory=dict)
    groups: dict[Group, list[int]] = field(default_factory=dict)
    group_points: dict[Group, int] = field(default_factory=dict)
    periods: dict[int, PeriodRecord] = field(default_factory=dict)
    counters: dict[tuple[int, str], int] = field(default_factory=dict)
    policies: dict[int, Policy] = field(default_factory=dict)
    active_from: dict[int, int] = field(default_factory=dict)  # version -> first period
    payouts: dict[str, PayoutRecord] = field(default_factory=dict)
    close_requests: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    programmes: dict[int, Programme] = field(default_factory=dict)
    units: dict[tuple[int, int], int] = field(default_factory=dict)  # (programme, holder)
    dividends: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    refunds: dict[str, RefundRecord] = field(default_factory=dict)  # by key
    stored_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The orders' rows by idempotency key (``orders`` has them as :class:`OrderRecord`)."""
    terms: dict[int, FakeMerchant] = field(default_factory=dict)
    consumers: dict[int, FakeConsumer] = field(default_factory=dict)
    partners: dict[int, int] = field(default_factory=dict)  # region -> its active partner
    pay_codes: dict[str, FakePayCode] = field(default_factory=dict)  # by code hash
    events: list[Event] = field(default_factory=list)
    """The events of the committed units of work, in order."""
    audits: list[AuditRecord] = field(default_factory=list)
    next_payout: int = 1
    next_programme: int = 1
    next_refund: int = 1

    # --- set-up of a test's books (what the converted use cases do not write) -----------------

    def open_books(self, policy: Policy, starts_on: dt.date = dt.date(2026, 1, 1)) -> None:
        """Period 1 open under ``policy`` (version 1), and the platform (party 1)."""
        self.parties[1] = "platform"
        self.policies[1] = policy
        self.periods[1] = PeriodRecord(1, "open", starts_on.isoformat(),
                                       period_end(starts_on, policy.release.period).isoformat(),
                                       1, None, None, None, None, None)

    def add_party(self, kind: str, *, active: bool = True) -> int:
        party = max(self.parties, default=0) + 1
        self.parties[party] = kind
        if kind == "merchant":
            self.merchants[party] = active
        return party

    def add_merchant(self, terms: FakeMerchant | None = None, *, active: bool = True) -> int:
        merchant = self.add_party("merchant", active=active)
        self.terms[merchant] = terms or FakeMerchant()
        return merchant

    def add_consumer(self, referrer: int | None = None, home: int | None = None) -> int:
        consumer = self.add_party("consumer")
        self.consumers[consumer] = FakeConsumer(referrer, home)
        return consumer

    def move(self, legs: Iterable[tuple[int, Asset, int]]) -> None:
        """Add legs onto balances directly (a test's opening balances; keep them balanced)."""
        for acc, asset, amount in legs:
            after = self.balances.get((acc, asset), 0) + amount
            if after:
                self.balances[(acc, asset)] = after
            else:  # a balance of 0 is no balance (as a trial balance lists them)
                self.balances.pop((acc, asset), None)

    def hold(self, holder: int, start_period: int, multiple: Decimal, points: int) -> None:
        """Give a holder ``points`` in a group, as an order does (its points account too)."""
        key = (holder, start_period, multiple)
        self.holdings.setdefault(key, [0, 0])[0] += points
        group = (start_period, multiple)
        self.group_points[group] = self.group_points.get(group, 0) + points
        self.move([(account_id(holder, AccountKind.POINTS), Asset.PTS, points),
                   (account_id(1, AccountKind.POINTS_ISSUED), Asset.PTS, -points)])

    def balance(self, party: int, kind: AccountKind) -> int:
        return self.balances.get((account_id(party, kind), kind.asset), 0)


class FakeLedger(LedgerStore):
    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def post(self, entry: JournalEntry, period: int, ref_id: int | None = None) -> int:
        b = self.books
        for p in entry.postings:
            _, kind = describe_account(p.account)
            after = b.balances.get((p.account, p.asset), 0) + p.amount
            if kind.nonnegative and p.amount < 0 and after < 0:
                raise InsufficientBalance(
                    f"{account_name(p.account)} holds less than the {-p.amount} {p.asset.value} "
                    "to take from it; nothing was posted")
        b.move((p.account, p.asset, p.amount) for p in entry.postings)
        b.entries.append((entry, period, ref_id))
        return len(b.entries)

    def balance(self, account: int, asset: Asset) -> int:
        return self.books.balances.get((account, asset), 0)

    def system_balance(self, kind: AccountKind) -> int:
        return self.books.balance(1, kind)

    def party_balances(self, party_id: int) -> dict[AccountKind, int]:
        return {k: self.books.balance(party_id, k) for k in AccountKind if not k.system}

    def cash_and_recent_earnings(self, party_id: int, since: int) -> tuple[int, dict[int, int]]:
        earned = {p: v for (party, p), v in sorted(self.books.earnings.items())
                  if party == party_id and p >= since}
        return self.books.balance(party_id, AccountKind.CASH), earned

    def lock_cash(self, account: int) -> None:
        del account  # one writer: nothing to hold


class FakeHoldings(HoldingStore):
    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def _fraction(self, group: Group) -> int:
        row = self.books.groups.get(group)
        return row[0] if row else 0

    def holdings(self, holder: int, *, started_by: int | None = None,
                 later_than: int | None = None, lock: bool = False) -> list[Holding]:
        return [Holding(s, m, pts, self._fraction((s, m)), settled)
                for (h, s, m), (pts, settled) in sorted(self.books.holdings.items())
                if h == holder and (started_by is None or s <= started_by)
                and (later_than is None or s > later_than)]

    def to_settle(self, holder: int, period: int) -> tuple[list[Holding], bool]:
        held = self.holdings(holder, started_by=period, lock=True)
        return held, bool(held) and holder in self.books.frozen

    def holding(self, holder: int, start_period: int, multiple: Decimal, *,
                lock: bool = False) -> HoldingRow | None:
        row = self.books.holdings.get((holder, start_period, multiple))
        return None if row is None else HoldingRow(row[0], row[1])

    def group(self, start_period: int, multiple: Decimal, *, lock: bool = False) -> GroupRow | None:
        row = self.books.groups.get((start_period, multiple))
        return None if row is None else GroupRow(row[0], row[1], row[2])

    def groups_due(self, period: int) -> list[GroupState]:
        return [GroupState(s, m, pts, self._fraction((s, m)))
                for (s, m), pts in sorted(self.books.group_points.items()) if s <= period]

    def unreleased_entitlement(self) -> int:
        return sum(unreleased(m, pts, self._fraction((s, m)))
                   for (s, m), pts in self.books.group_points.items())

    def settle(self, holder: int, period: int, entry: JournalEntry,
               due: Mapping[tuple[int, Decimal], int]) -> None:
        FakeLedger(self.books).post(entry, period, holder)
        for (start, m), fen in due.items():
            self.books.holdings[(holder, start, m)][1] += fen

    def take_points(self, holder: int, start_period: int, multiple: Decimal, taken_cpts: int,
                    settled_fen: int, *, period: int, entry: JournalEntry | None,
                    reissue: tuple[int, int] | None = None) -> None:
        if entry is not None:  # first: a refused entry leaves the holding as it was
            FakeLedger(self.books).post(entry, period, holder)
        row = self.books.holdings[(holder, start_period, multiple)]
        row[0] -= taken_cpts
        row[1] = settled_fen
        group = (start_period, multiple)
        self.books.group_points[group] = self.books.group_points.get(group, 0) - taken_cpts
        if reissue is not None:
            grp = self.books.groups[group]
            grp[1], grp[2] = reissue

    def advance(self, group: GroupState, fraction: int) -> None:
        after = GroupState(group.start_period, group.multiple, group.points_cpts, fraction)
        self.books.groups[(group.start_period, group.multiple)] = [
            fraction, int(after.released()), group.points_cpts]


class FakePeriods(PeriodStore):
    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def open_period(self) -> OpenPeriod:
        for p in self.books.periods.values():
            if p.status == "open":
                return OpenPeriod(p.seq, p.policy_version_id, p.starts_on)
        raise NotFound("the books have no open period (run a migration / open the books first)")

    def period(self, seq: int) -> PeriodRecord | None:
        return self.books.periods.get(seq)

    def counters(self, period: int) -> dict[str, int]:
        return {n: v for (p, n), v in sorted(self.books.counters.items()) if p == period}

    def add_counters(self, period: int, values: Mapping[str, int]) -> None:
        for name, v in values.items():
            if v:
                self.books.counters[(period, name)] = self.books.counters.get((period, name), 0) + v

    def close(self, seq: int, close: PeriodClose, at: dt.datetime) -> None:
        self.books.periods[seq] = replace(
            self.books.periods[seq], status="closed", release_rate=close.release_rate,
            nominal_rate=close.nominal_rate, released_fen=close.released_fen,
            unfunded_fen=close.unfunded_fen, figures=close.figures)

    def open_next(self, seq: int, starts_on: dt.date, ends_on: dt.date,
                  policy_version_id: int) -> None:
        assert seq not in self.books.periods, "a period is opened once"
        self.books.periods[seq] = PeriodRecord(seq, "open", starts_on.isoformat(),
                                               ends_on.isoformat(), policy_version_id,
                                               None, None, None, None, None)


class FakeParties(PartyStore):
    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def kind(self, party_id: int) -> str | None:
        return self.books.parties.get(party_id)

    def is_frozen(self, party_id: int) -> bool:
        return party_id in self.books.frozen

    def region_universes(self) -> list[tuple[int, str, int]]:
        return list(self.books.regions)


class FakeRequests(RequestStore):
    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def payout(self, key: str) -> PayoutRecord | None:
        return self.books.payouts.get(key)

    def add_payout(self, key: str, request_hash: str, party_id: int, amount_fen: int,
                   period: int, balance_after_fen: int) -> int:
        assert key not in self.books.payouts, "a key is stored once"
        payout_id = self.books.next_payout
        self.books.next_payout += 1
        self.books.payouts[key] = PayoutRecord(payout_id, party_id, amount_fen,
                                               balance_after_fen, request_hash)
        return payout_id

    def close_request(self, key: str) -> tuple[int, str | None] | None:
        return self.books.close_requests.get(key)

    def add_close_request(self, key: str, period: int, request_hash: str) -> None:
        assert key not in self.books.close_requests, "a key is stored once"
        self.books.close_requests[key] = (period, request_hash)


class FakePolicies(PolicyStore):
    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def version(self, version_id: int) -> Policy:
        if version_id not in self.books.policies:
            raise NotFound(f"policy version {version_id} does not exist")
        return self.books.policies[version_id]

    def latest_active_by(self, period: int) -> int | None:
        return max((v for v, p in self.books.active_from.items() if p <= period), default=None)


class FakeProgrammes(ProgrammeStore):
    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def merchant_active(self, merchant_id: int) -> bool | None:
        return self.books.merchants.get(merchant_id)

    def add_programme(self, merchant_id: int, unit_price_cpts: int, units_offered: int,
                      profit_share: str) -> int:
        pid = self.books.next_programme
        self.books.next_programme += 1
        self.books.programmes[pid] = Programme(pid, merchant_id, unit_price_cpts, units_offered,
                                               0, profit_share)
        return pid

    def programme(self, programme_id: int, *, lock: bool = False) -> Programme | None:
        return self.books.programmes.get(programme_id)

    def sell_units(self, programme_id: int, holder_id: int, units: int) -> None:
        prog = self.books.programmes[programme_id]
        self.books.programmes[programme_id] = replace(prog, units_sold=prog.units_sold + units)
        key = (programme_id, holder_id)
        self.books.units[key] = self.books.units.get(key, 0) + units

    def dividend_declared(self, programme_id: int, period: int) -> bool:
        return (programme_id, period) in self.books.dividends

    def unit_holders(self, programme_id: int) -> list[tuple[int, int]]:
        return [(h, u) for (p, h), u in sorted(self.books.units.items())
                if p == programme_id and u > 0]

    def add_dividend(self, programme_id: int, period: int, profit_fen: int, paid_fen: int) -> None:
        assert (programme_id, period) not in self.books.dividends, "one dividend per period"
        self.books.dividends[(programme_id, period)] = (profit_fen, paid_fen)


class FakeOrders(OrderStore):
    def __init__(self, books: FakeBooks, locks: list[tuple[str, tuple[int, ...]]]) -> None:
        self.books = books
        self.locks = locks

    def lock_refund(self, order_id: int) -> None:
        placed = self.books.orders.get(order_id)
        self.locks.append(("adjust", () if placed is None else placed.holders))

    def order(self, order_id: int, *, lock: bool = False) -> OrderRecord | None:
        return self.books.orders.get(order_id)

    def refund(self, key: str) -> RefundRecord | None:
        return self.books.refunds.get(key)

    def _key(self, order_id: int) -> str | None:
        return next((k for k, o in self.books.stored_orders.items() if o["id"] == order_id), None)

    def refunded_before(self, order_id: int, refund_id: int) -> int:
        return sum(r.amount_fen for r in self.books.refunds.values()
                   if r.order_id == order_id and r.id < refund_id)

    def add_refund(self, key: str, request_hash: str, order_id: int, amount_fen: int,
                   period: int, platform_cover_fen: int) -> int:
        assert key not in self.books.refunds, "a key is stored once"
        order = self.books.orders[order_id]
        assert order.refunded_fen + amount_fen <= order.amount_fen, "never beyond the order"
        refund_id = self.books.next_refund
        self.books.next_refund += 1
        self.books.refunds[key] = RefundRecord(refund_id, order_id, amount_fen, period, 0,
                                               platform_cover_fen, request_hash)
        self.books.orders[order_id] = replace(order, refunded_fen=order.refunded_fen + amount_fen)
        stored = self.books.stored_orders.get(self._key(order_id))
        if stored is not None:
            stored["refunded_fen"] = order.refunded_fen + amount_fen
        return refund_id

    def post_refund(self, entry: JournalEntry, period: int, refund_id: int,
                    order: OrderRecord, amount_fen: int) -> None:
        FakeLedger(self.books).post(entry, period, refund_id)
        for party, fen in cash_earnings((p.account, p.asset, p.amount)
                                        for p in entry.postings).items():
            key = (party, order.period)
            self.books.earnings[key] = self.books.earnings.get(key, 0) + fen

    def set_clawback(self, refund_id: int, clawback_fen: int) -> None:
        [(key, refund)] = [(k, r) for k, r in self.books.refunds.items() if r.id == refund_id]
        self.books.refunds[key] = replace(refund, clawback_fen=clawback_fen)


    # placing orders

    def begin(self, consumer_id: int, merchant_id: int, key: str) -> OrderStart | dict[str, Any]:
        stored = self.books.stored_orders.get(key)
        if stored is not None:
            return dict(stored)
        period = FakePeriods(self.books).open_period()
        context = self._context(consumer_id, merchant_id)
        consumer = self.books.consumers[consumer_id]
        first = consumer.first_order_key is None
        if first:
            consumer.first_order_key = key
        return OrderStart(period, context, first, velocity_locked=True)

    def by_id(self, order_id: int) -> dict[str, Any] | None:
        found = [o for o in self.books.stored_orders.values() if o["id"] == order_id]
        return dict(found[0]) if found else None

    def by_key(self, key: str) -> dict[str, Any] | None:
        stored = self.books.stored_orders.get(key)
        return None if stored is None else dict(stored)

    def by_keys(self, keys: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        return {k: dict(self.books.stored_orders[k]) for k in keys if k in self.books.stored_orders}

    def _context(self, consumer_id: int, merchant_id: int) -> OrderContext:
        b = self.books
        if consumer_id not in b.consumers:
            raise NotFound(f"consumer {consumer_id} does not exist")
        if merchant_id not in b.terms:
            raise NotFound(f"merchant {merchant_id} does not exist")
        m, c = b.terms[merchant_id], b.consumers[consumer_id]
        if not b.merchants[merchant_id]:
            raise InvalidInput(f"merchant {merchant_id} is not active")
        if merchant_id in b.frozen:
            raise PartyFrozen(f"merchant {merchant_id} is frozen for review: it cannot take "
                              "orders until an administrator unfreezes it")
        home = c.home_merchant_id
        return OrderContext(
            merchant_channel=m.channel, merchant_region=m.region, merchant_rate=m.rate,
            contract_rate=m.bm_rate if m.bm_rate is not None else Decimal(0),
            accepts_vouchers=m.accepts_vouchers,
            beneficiaries=Beneficiaries(
                platform=PLATFORM_PARTY_ID, region_partner=b.partners.get(m.region),
                signing_promoter=m.promoter_id, bound_bm=m.bm_id,
                home_merchant=home if home is not None and home != merchant_id else None),
            referrer_id=c.referrer_id, first_order_pending=c.first_order_key is None,
            last_active_period=c.last_active_period, consumer_frozen=consumer_id in b.frozen)

    def contexts(self, pairs: Sequence[tuple[int, int]]
                 ) -> dict[tuple[int, int], OrderContext | GongshengError]:
        out: dict[tuple[int, int], OrderContext | GongshengError] = {}
        for consumer, merchant in set(pairs):
            try:
                out[(consumer, merchant)] = self._context(consumer, merchant)
            except GongshengError as err:
                out[(consumer, merchant)] = err
        return out

    def claim_first_orders(self, keys: dict[int, str]) -> set[int]:
        won = {c for c in keys if self.books.consumers[c].first_order_key is None}
        for c in won:
            self.books.consumers[c].first_order_key = keys[c]
        return won

    def lock_velocity(self, consumer_id: int) -> None:
        return None  # one writer

    def _counts(self, order: Mapping[str, Any], caps: tuple[int | None, int | None]) -> Counts:
        mine = [o for o in self.books.orders.values()
                if o.consumer_id == order["consumer_id"] and o.period == order["period"]]
        per_consumer, per_pair = caps
        pair = sum(1 for o in mine if o.merchant_id == order["merchant_id"])
        return (min(len(mine), per_consumer) if per_consumer is not None else 0,
                min(pair, per_pair) if per_pair is not None else 0)

    def write(self, batch: Sequence[OrderRows], events: Sequence[Recorded],
              caps: tuple[int | None, int | None] | None,
              refuse: Callable[[OrderRows, Counts], None]) -> Written:
        b = self.books
        ids: dict[str, int] = {}
        periods = FakePeriods(b)
        for rows in batch:
            order, period = rows.order, rows.order["period"]
            if caps is not None:
                refuse(rows, self._counts(order, caps))
            order_id = max((o["id"] for o in b.stored_orders.values()), default=0) + 1
            FakeLedger(b).post(replace(rows.entry, memo=f"order {order_id}"), period, order_id)
            ids[order["idem_key"]] = order_id
            b.stored_orders[order["idem_key"]] = stored = {"id": order_id, **order}
            b.orders[order_id] = order_record(SimpleNamespace(**stored))
            for holder, start, multiple, pts in rows.holdings:
                b.holdings.setdefault((holder, start, Decimal(multiple)), [0, 0])[0] += pts
            for start, multiple, pts in rows.group_points:
                group = (start, Decimal(multiple))
                b.group_points[group] = b.group_points.get(group, 0) + pts
            periods.add_counters(period, rows.counters)
            for party, fen in rows.earnings:
                b.earnings[(party, period)] = b.earnings.get((party, period), 0) + fen
            consumer = b.consumers[order["consumer_id"]]
            if rows.activate and consumer.last_active_period != period:
                consumer.last_active_period = period
                periods.add_counters(period, {"active_consumers": 1})
        b.events.extend(filled(r, ids).event for r in events)
        return Written([ids[r.order["idem_key"]] for r in batch], periods.open_period().seq,
                       [(0, 0)] * len(batch))

    def use_pay_code(self, code_hash: str, *, consumer_id: int, merchant_id: int,
                     voucher_fen: int, key: str, at: dt.datetime) -> bool:
        code = self.books.pay_codes.get(code_hash)
        if (code is None or code.used_key is not None or code.consumer_id != consumer_id
                or code.expires_at <= at or code.max_voucher_fen < voucher_fen
                or code.merchant_id not in (None, merchant_id)):
            return False
        code.used_key = key
        return True


class Absent:
    """A store no unit test uses: any call raises NotImplementedError."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        raise NotImplementedError(f"the fake books keep no {self.name} ({attr})")


class FakeClosing(ClosingStore):
    """Inert: no stored forecast, no risk flag, no seal (see the module's docstring)."""

    def outlook(self, period: int, controller: Controller) -> Outlook | None:
        return None

    def detect_risk(self, period: int, rule: RiskRule) -> int:
        return 0

    def seal(self, period: int) -> None:
        return None


class FakeUnitOfWork:
    """One transaction on ``books``: a copy of them until :meth:`commit` puts it back
    (a :class:`~gongsheng.services.ports.work.Work`)."""

    def __init__(self, books: FakeBooks) -> None:
        self.committed = books
        self.locks: list[tuple[str, tuple[int, ...]]] = []
        """The locks the use case asked for, in order (``("books", ())``, ``("adjust", parties)``)."""
        self._begin()

    def _begin(self) -> None:
        self.books = copy.deepcopy(self.committed)
        self.events: list[Event] = []
        self._outbox: list[Recorded] | None = None
        self.audits: list[AuditRecord] = []
        self.ledger = FakeLedger(self.books)
        self.holdings = FakeHoldings(self.books)
        self.periods = FakePeriods(self.books)
        self.parties = FakeParties(self.books)
        self.requests = FakeRequests(self.books)
        self.policies = FakePolicies(self.books)
        self.programmes = FakeProgrammes(self.books)
        self.orders = FakeOrders(self.books, self.locks)
        self.closing = FakeClosing()
        self.freezes = cast(FreezeStore, Absent("freezes"))
        self.wallets = cast(WalletStore, Absent("wallets"))
        self.forecasts = cast(ForecastStore, Absent("forecasts"))
        self.seals = cast(SealStore, Absent("seals"))
        self.external_ids = cast(ExternalIdStore, Absent("external ids"))
        self.webhooks = cast(WebhookStore, Absent("webhooks"))
        self.cases = cast(CaseStore, Absent("cases"))
        self.risk = cast(RiskStore, Absent("risk"))

    def __enter__(self) -> FakeUnitOfWork:
        self._begin()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._begin()  # what was not committed is dropped

    def record(self, event: Event, *, slot: tuple[str, str] | None = None) -> None:
        if self._outbox is not None:
            self._outbox.append(Recorded(event, slot))
        else:
            assert slot is None, "a slotted event is written by the write in the outbox block"
            self.events.append(event)

    @contextmanager
    def outbox(self) -> Iterator[list[Recorded]]:
        """The events recorded so far and in the block, for the block's write (which puts them
        in the working books' events); those recorded in the block dropped if it raises."""
        self._outbox = [Recorded(e) for e in self.events]
        try:
            yield self._outbox
        finally:
            self._outbox = None
        self.events = []

    def audit(self, action: str, target: str, changes: dict[str, Any] | None = None) -> None:
        self.audits.append(AuditRecord(action, target, dict(changes or {})))

    def lock_books(self, *, exclusive: bool = False) -> None:
        self.locks.append(("books" if exclusive else "books-shared", ()))

    def lock_adjustments(self, parties: Iterable[int] = (), *, pool_take: int = 0) -> None:
        self.locks.append(("adjust", tuple(parties)))

    def commit(self) -> None:
        """Put the working books back, with the events and audit records recorded."""
        self.books.events.extend(self.events)
        self.books.audits.extend(self.audits)
        self.committed.__dict__.update(self.books.__dict__)
        self._begin()


def _is_work(uow: FakeUnitOfWork) -> Work:
    return uow  # mypy holds the fake unit of work to the port
