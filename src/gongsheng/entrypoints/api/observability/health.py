"""``GET /healthz`` (the process answers), ``GET /readyz`` (it can serve) and ``GET /metrics``.

Readiness means the database answers and its schema is at the head of the migration scripts
this version ships (``alembic_version``): a worker started before ``gongsheng migrate`` ran, or
after a rollback of the code, is not ready; the answer is then 503 problem+json and says why.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from gongsheng.adapters.database import schema_revisions
from gongsheng.entrypoints.api.deps import PlatformDep
from gongsheng.entrypoints.api.errors import problem
from gongsheng.entrypoints.api.observability import metrics

router = APIRouter(tags=["operations"])
log = logging.getLogger("gongsheng.api")


class Health(BaseModel):
    """The process is up."""

    status: str


class Readiness(BaseModel):
    """The database answers and its schema is at ``revision``, the head of the shipped scripts."""

    status: str
    revision: str


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process answers (touches nothing else)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness,
            responses={503: {"description": "the database is unreachable or not migrated"}})
def readyz(platform: PlatformDep) -> Response:
    """Readiness: the database answers and its migrations are at head (503 otherwise)."""
    try:
        current, head = schema_revisions(platform.engine)
    except SQLAlchemyError as err:
        log.warning("not ready: database unreachable: %s", err.__class__.__name__)
        return problem(503, "Service unavailable", "the database is unreachable",
                       headers={"Retry-After": "5"})
    if current != head:
        shown = ", ".join(current) or "none (an empty or unmanaged database)"
        log.warning("not ready: schema at %s, head is %s", shown, ", ".join(head))
        return problem(503, "Service unavailable",
                       f"the database schema is at revision {shown}, not at the head "
                       f"{', '.join(head)} of this version: run the migrations",
                       headers={"Retry-After": "5"})
    body = Readiness(status="ready", revision=", ".join(head))
    return Response(body.model_dump_json(), media_type="application/json")


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    """Prometheus metrics in the text exposition format (see :mod:`.metrics`)."""
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
