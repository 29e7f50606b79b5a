"""Bodies of the integration resources: the event feed, webhook subscriptions, order quotes.

Amounts and ids are strict JSON integers (a string, float or boolean is a 422). Every event
type also gets an envelope schema of its own (:func:`event_envelopes`), for the OpenAPI
document's ``webhooks`` section.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, create_model

from gongsheng.domain.events import EVENT_TYPES, Event
from gongsheng.entrypoints.api.deps import MAX_ID
from gongsheng.services.ordering import MAX_ORDER_FEN

StrictRef = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
StrictFen = Annotated[StrictInt, Field(ge=1, le=MAX_ORDER_FEN)]
EventType = Annotated[str, Field(min_length=1, max_length=60, examples=sorted(EVENT_TYPES))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventOut(BaseModel):
    """An event in the feed: the webhook envelope and the cursor just after it."""

    id: str
    type: str
    version: int
    period: int
    timestamp: str
    data: dict[str, Any]
    cursor: str


class FeedOut(BaseModel):
    """A page of the feed; poll again with ``next_cursor`` (it never skips or repeats one)."""

    items: list[EventOut]
    next_cursor: str


class SubscriptionIn(_In):
    """A webhook subscription: where to POST and which event types."""

    url: Annotated[str, Field(min_length=8, max_length=2000, examples=["https://pos.example/hooks"])]
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]


class SubscriptionOut(BaseModel):
    id: int
    url: str
    events: list[str]
    status: str
    failures: int
    disabled_reason: str | None
    previous_secret_valid_until: str | None
    created_at: str | None


class SubscriptionCreated(SubscriptionOut):
    """The new subscription and its signing secret (shown this once)."""

    secret: str


class SecretRotated(BaseModel):
    """The new signing secret (shown this once); the old one signs too until the time given."""

    id: int
    secret: str
    previous_secret_valid_until: str


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class DeliveryOut(BaseModel):
    id: int
    subscription_id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: str | None
    delivered_at: str | None
    last_status: int | None
    last_error: str | None
    log: list[dict[str, Any]]


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


class QuoteIn(_In):
    """An order a POS screen is about to take (nothing is written or spent)."""

    consumer_id: StrictRef
    merchant_id: StrictRef
    amount_fen: StrictFen
    voucher_fen: Annotated[StrictInt, Field(ge=0, le=MAX_ORDER_FEN)] = 0


class QuoteAllocation(BaseModel):
    part: str
    recipient: str
    party_id: int | None
    amount_fen: int
    vacant: bool


class QuoteOut(BaseModel):
    """What the order would get if placed now: the concession, its waterfall and the points."""

    period: int
    consumer_id: int
    merchant_id: int
    channel: str
    amount_fen: int
    voucher_fen: int
    voucher_cost_fen: int
    concession_rate: str
    concession_fen: int
    allocations: list[QuoteAllocation]
    pool_fen: int
    consumer_cpts: int
    merchant_cpts: int
    referrer_id: int | None
    referrer_cpts: int
    first_order: bool


def _data_model(cls: type[Event]) -> type[BaseModel]:
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {f.name: (hints[f.name], ...) for f in dataclasses.fields(cls)
                              if f.name != "period"}
    name = "".join(p.capitalize() for p in cls.type.replace(".", "_").split("_"))
    model: type[BaseModel] = create_model(f"{name}Data", __doc__=cls.__doc__, **fields)
    return model


def event_envelopes() -> dict[str, type[BaseModel]]:
    """Per event type, the schema of its envelope (what a webhook receives, a feed item holds)."""
    out: dict[str, type[BaseModel]] = {}
    for name, cls in sorted(EVENT_TYPES.items()):
        data = _data_model(cls)
        model_name = data.__name__.removesuffix("Data") + "Event"
        out[name] = create_model(
            model_name, __doc__=f"``{name}`` (version {cls.version}): {cls.__doc__}",
            id=(str, Field(description="stable event id (evt_...); the webhook-id header")),
            type=(Literal[name], ...),  # type: ignore[arg-type]
            version=(Literal[cls.version], ...),  # type: ignore[arg-type]
            period=(int, ...), timestamp=(str, Field(description="when it committed (UTC)")),
            data=(data, ...))
    return out


class AuditRecordOut(BaseModel):
    """One operator action: who (login, ``apikey:<id>``, ``cli:<user>``, ``anonymous`` or
    ``system``), when (UTC), through which request, what action on which target, what changed."""

    id: int
    at: str
    actor: str
    request_id: str | None
    action: str
    target: str
    changes: dict[str, Any]


class AuditPageOut(BaseModel):
    """A page of the audit log, newest first; ``next_cursor`` is null on the last page."""

    items: list[AuditRecordOut]
    next_cursor: str | None
