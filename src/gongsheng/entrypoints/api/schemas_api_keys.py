"""Bodies of the integration keys' routes (``/api/v1/api-keys``).

The key's text appears in one answer only, :class:`ApiKeyCreated`; :class:`ApiKeyOut` (every
later answer) has no field that could carry it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StrictInt

from gongsheng.domain.api_keys import MAX_LABEL, Scope
from gongsheng.entrypoints.api.deps import MAX_ID
from gongsheng.entrypoints.api.schemas import In


class ApiKeyIn(In):
    """A key to issue: a label, its scopes, and optionally its party (none: a platform key), an
    expiry (RFC 3339 with a time zone) and a rate limit of its own (``600/minute``)."""

    label: Annotated[str, Field(min_length=1, max_length=MAX_LABEL, examples=["till 3, Merchant M"])]
    scopes: Annotated[list[Annotated[Scope, Field(strict=False)]],  # the enum from its JSON string
                      Field(min_length=1, max_length=len(Scope))]
    party_id: Annotated[StrictInt, Field(ge=1, le=MAX_ID)] | None = None
    expires_at: Annotated[AwareDatetime, Field(strict=False)] | None = None  # from its RFC 3339 text
    rate_limit: Annotated[str, Field(min_length=3, max_length=50, examples=["600/minute"])] | None = None

    def expires_ms(self) -> int | None:
        if self.expires_at is None:
            return None
        return int(self.expires_at.astimezone(dt.UTC).timestamp() * 1000)


class ApiKeyOut(BaseModel):
    """A key as listed (never its secret): ``prefix`` names it in logs and lists."""

    id: int
    prefix: str
    label: str
    party_id: int | None
    scopes: list[str]
    rate_limit: str | None
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    status: str
    created_at: str | None


class ApiKeyCreated(ApiKeyOut):
    """A key just issued: ``secret`` is its text (``gsk_...``), shown this once."""

    secret: str


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
