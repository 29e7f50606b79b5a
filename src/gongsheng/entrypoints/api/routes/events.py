"""The event feed, and every event type's envelope in the OpenAPI document's ``webhooks``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query

from gongsheng.entrypoints.api.deps import PlatformDep
from gongsheng.entrypoints.api.integration_access import EventsReader
from gongsheng.entrypoints.api.schemas_integration import FeedOut, event_envelopes
from gongsheng.views.feed import MAX_PAGE, read_feed

router = APIRouter(tags=["events"])


@router.get("/events", response_model=FeedOut)
def list_events(
    _: EventsReader, platform: PlatformDep,
    after: Annotated[str | None, Query(max_length=40, description="the cursor to resume after "
                                       "(the last item's or next_cursor); none: from the start")] = None,
    types: Annotated[str | None, Query(max_length=1000, description="comma-separated event "
                                       "types (default: every type)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")] = 100,
) -> FeedOut:
    """Events in commit order after a cursor; a cursor never skips or repeats an event (admin,
    or a platform key with ``events:read``)."""
    chosen = types.split(",") if types is not None else None
    page = platform.read(lambda c: read_feed(c, after, chosen, limit))
    return FeedOut.model_validate({"items": page.items, "next_cursor": page.next_cursor})


def document_event_webhooks(app: FastAPI) -> None:
    """List every event type under the OpenAPI ``webhooks``: the body each delivery POSTs."""
    for name, model in event_envelopes().items():
        def receive(body: Any) -> None:
            """Documentation only: gongsheng POSTs this body to a subscription's URL."""

        receive.__annotations__ = {"body": model, "return": None}  # resolved, not a string
        receive.__name__ = "event_" + name.replace(".", "_")
        app.webhooks.add_api_route(
            name, receive, methods=["POST"], status_code=204, tags=["webhooks"],
            summary=f"{name}", description=(
                f"{model.__doc__}\n\nSigned per Standard Webhooks: headers `webhook-id` "
                "(the event id), `webhook-timestamp` and `webhook-signature`. Answer 2xx to "
                "acknowledge; anything else is retried with backoff."))
