"""Responses the routes build themselves.

A write that takes an ``Idempotency-Key`` answers 201 with what it created, or 200 with the first
result when the key was used before (a replay). The route builds that response from its already
validated model: FastAPI would otherwise validate and serialise the model again, and, for a
plain ``def`` route, do it in a second hop to its thread pool.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

REPLAYED = "a replay: the first result of this Idempotency-Key"
"""How a 200 answer of an idempotent write is described in the API's schema."""


def written(result: BaseModel, *, replayed: bool) -> Response:
    """``result`` as JSON: 201 for a new write, 200 for a replay."""
    return Response(result.model_dump_json(), status_code=200 if replayed else 201,
                    media_type="application/json")
