"""Policy versions."""

from __future__ import annotations

from typing import Protocol

from gongsheng.domain.policy import Policy
from gongsheng.domain.policy_versions import StoredVersion


class PolicyStore(Protocol):
    """A stored policy version never changes; a version scheduled from a period applies from
    that period on, until a later-scheduled one does."""

    def version(self, version_id: int) -> Policy:
        """The policy of a version (:class:`~gongsheng.domain.errors.NotFound` if none)."""
        ...

    def latest_active_by(self, period: int) -> int | None:
        """The newest version scheduled to apply by ``period``; None if none was scheduled."""
        ...

    def by_digest(self, digest: str) -> int | None:
        """The stored version with this content digest; None if none is stored."""
        ...

    def add(self, policy: Policy) -> int:
        """Store a new version (its content not stored yet); its id."""
        ...

    def schedule(self, version_id: int, period: int) -> None:
        """Make a stored version apply from ``period``."""
        ...

    def listed(self) -> list[StoredVersion]:
        """Every stored version, by id."""
        ...
