"""Policy versions."""

from __future__ import annotations

from typing import Protocol

from gongsheng.domain.policy import Policy


class PolicyStore(Protocol):
    """A stored policy version never changes; a version scheduled from a period applies from
    that period on, until a later-scheduled one does."""

    def version(self, version_id: int) -> Policy:
        """The policy of a version (:class:`~gongsheng.domain.errors.NotFound` if none)."""
        ...

    def latest_active_by(self, period: int) -> int | None:
        """The newest version scheduled to apply by ``period``; None if none was scheduled."""
        ...
