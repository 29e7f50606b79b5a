"""Domain events (领域事件): what happened in the books, as immutable facts.

A use case records events on its unit of work; the unit of work writes them to the ``events``
table in the same transaction as the change they describe (a transactional outbox), so an
event exists if and only if its change committed. A replayed idempotent request changes
nothing and records nothing.

Every event has a stable type name (``order.placed``), a schema version (bumped when a body
field changes meaning or is removed; adding a field keeps the version), the period it happened
in and a body of plain JSON values with the API's conventions: money in integer fen
(``*_fen``), points in integer centi-points (``*_cpts``), rates as decimal strings, ids as
integers. The body is every field of the dataclass except ``period``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of every event. Invariant: ``body()`` holds only JSON scalars, lists and objects; a
    field holds scalars, tuples or lists and dicts with string keys, so that :meth:`fields`
    encoded as JSON is ``body()`` encoded as JSON."""

    type: ClassVar[str] = ""
    version: ClassVar[int] = 1

    period: int

    def fields(self) -> dict[str, Any]:
        """The body's fields as the event holds them (tuples not copied into lists): for an
        encoder, which writes a tuple as a JSON array, without :meth:`body`'s copies."""
        return {name: getattr(self, name) for name in _body_fields(type(self))}

    def body(self) -> dict[str, Any]:
        """The event's fields but ``period``, as JSON-ready values."""
        body = {}
        for name in _body_fields(type(self)):
            value = getattr(self, name)
            body[name] = value if type(value) in _SCALARS else _plain(value)
        return body


_FIELDS: dict[type[Event], tuple[str, ...]] = {}


def _body_fields(kind: type[Event]) -> tuple[str, ...]:
    """The names of the body's fields of an event class (every field but ``period``)."""
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in fields(kind) if f.name != "period")
    return names


_SCALARS = frozenset((int, str, bool, type(None)))


def _plain(value: Any) -> Any:
    """``value`` with tuples as lists and keys as strings (scalars are returned as they are)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, tuple | list):
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): v if type(v) in _SCALARS else _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class OrderPlaced(Event):
    """An order was placed: its amounts, the concession's split and the points awarded."""

    type: ClassVar[str] = "order.placed"

    order_id: int
    consumer_id: int
    merchant_id: int
    channel: str
    amount_fen: int
    voucher_fen: int
    concession_fen: int
    pool_fen: int
    consumer_cpts: int
    merchant_cpts: int
    referrer_id: int | None
    referrer_cpts: int
    allocations: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class OrderRefunded(Event):
    """Part or all of an order was refunded; every part of it reversed pro rata."""

    type: ClassVar[str] = "order.refunded"

    refund_id: int
    order_id: int
    amount_fen: int
    refunded_total_fen: int
    concession_reversed_fen: int
    clawback_fen: int
    platform_cover_fen: int


@dataclass(frozen=True)
class PeriodClosed(Event):
    """A period closed: the release rate it set, what it released and the pool after it."""

    type: ClassVar[str] = "period.closed"

    controller: str
    release_rate: str
    nominal_rate: str
    released_fen: int
    unfunded_fen: int
    pool_available_fen: int
    pool_reserved_fen: int
    forced_promise: bool


@dataclass(frozen=True)
class PayoutMade(Event):
    """Cash was paid out of a party's commission or settlement balance."""

    type: ClassVar[str] = "payout.made"

    payout_id: int
    party_id: int
    amount_fen: int
    balance_after_fen: int


@dataclass(frozen=True)
class PartyRegistered(Event):
    """A party joined: ``kind`` is consumer, merchant, bm, partner, promoter (or a region)."""

    type: ClassVar[str] = "party.registered"

    party_id: int
    kind: str
    name: str


@dataclass(frozen=True)
class PolicyVersionScheduled(Event):
    """A policy version was stored and scheduled to apply from ``active_from_period``."""

    type: ClassVar[str] = "policy.version_scheduled"

    version_id: int
    name: str
    digest: str
    active_from_period: int


@dataclass(frozen=True)
class PolicyVersionActivated(Event):
    """A period opened under another policy version than the one before it."""

    type: ClassVar[str] = "policy.version_activated"

    version_id: int
    previous_version_id: int


@dataclass(frozen=True)
class PointsExchanged(Event):
    """A consumer exchanged unreleased points for units of a shared-shareholder programme."""

    type: ClassVar[str] = "store.points_exchanged"

    consumer_id: int
    programme_id: int
    units: int
    points_cpts: int


@dataclass(frozen=True)
class StoreProfitDeclared(Event):
    """A programme declared its period's profit; ``paid_fen`` went to unit holders as vouchers."""

    type: ClassVar[str] = "store.profit_declared"

    programme_id: int
    profit_fen: int
    paid_fen: int


@dataclass(frozen=True)
class WebhookDisabled(Event):
    """A webhook subscription was disabled: a delivery kept failing for the whole retry window."""

    type: ClassVar[str] = "webhook.disabled"

    subscription_id: int
    url: str
    failures: int
    reason: str


@dataclass(frozen=True)
class PartyFrozen(Event):
    """An administrator froze a party for review: it may not sell, spend vouchers or withdraw;
    what it earns keeps accruing (``services.freezes``)."""

    type: ClassVar[str] = "party.frozen"

    party_id: int
    kind: str
    reason: str
    actor: str


@dataclass(frozen=True)
class PartyUnfrozen(Event):
    """A frozen party was unfrozen; it resumes with everything it accrued meanwhile."""

    type: ClassVar[str] = "party.unfrozen"

    party_id: int
    kind: str
    actor: str


@dataclass(frozen=True)
class CaseOpened(Event):
    """An abuse case opened: by a detector's flag (``detector``) or by an admin (``manual``)."""

    type: ClassVar[str] = "case.opened"

    case_id: int
    detector: str
    summary: str
    party_ids: tuple[int, ...]
    order_ids: tuple[int, ...]
    actor: str


@dataclass(frozen=True)
class CaseStatusChanged(Event):
    """A case moved on (``investigating``, ``confirmed``, ``dismissed``); a confirmation lists
    the parties it froze and the refunds it made."""

    type: ClassVar[str] = "case.status_changed"

    case_id: int
    previous: str
    status: str
    actor: str
    note: str | None
    frozen_party_ids: tuple[int, ...]
    refund_ids: tuple[int, ...]


@dataclass(frozen=True)
class CaseNoted(Event):
    """A note was added to a case."""

    type: ClassVar[str] = "case.noted"

    case_id: int
    note_id: int
    actor: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls for cls in (
        OrderPlaced, OrderRefunded, PeriodClosed, PayoutMade, PartyRegistered,
        PolicyVersionScheduled, PolicyVersionActivated, PointsExchanged, StoreProfitDeclared,
        WebhookDisabled, CaseOpened, CaseStatusChanged, CaseNoted, PartyFrozen, PartyUnfrozen)
}
"""Every event type by its name (the feed, the webhooks and the docs list these)."""


@dataclass(frozen=True)
class Recorded:
    """An event recorded in a unit of work, not yet written.

    ``slot``: None, or ``(field, key)`` for an event that names a row its change has not written
    yet: ``field`` is an integer field of ``event`` holding a placeholder, ``key`` the key of the
    row whose id the writing statement puts there (``adapters/event_store.py`` tells how such an
    event is written).
    """

    event: Event
    slot: tuple[str, str] | None = None


def filled(recorded: Recorded, ids: Mapping[str, int]) -> Recorded:
    """``recorded`` with its slot filled from ``ids`` (the written rows' ids by key): an event a
    statement-by-statement writer writes after the rows its slots name."""
    if recorded.slot is None:
        return recorded
    field, key = recorded.slot
    return Recorded(replace(recorded.event, **{field: ids[key]}))
