"""Policy versions as stored: content-addressed (one version per digest), never changed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoredVersion:
    """A stored policy version as listed: ``active_from_period`` None until it is scheduled."""

    version_id: int
    name: str
    digest: str
    active_from_period: int | None
    created_at: str | None
