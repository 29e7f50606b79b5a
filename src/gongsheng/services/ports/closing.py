"""What a period close asks of the rest of the books: the forecast, the risk detectors, the seals."""

from __future__ import annotations

from typing import Protocol

from gongsheng.domain.policy import Controller, RiskRule
from gongsheng.domain.release import Outlook


class ClosingStore(Protocol):
    """The close's steps that belong to other concepts. They run inside the close's transaction:
    a close rolled back leaves no flag and no seal."""

    def outlook(self, period: int, controller: Controller) -> Outlook | None:
        """The ``forecast`` controller's outlook at ``period`` (None: no stored forecast, or
        another controller)."""
        ...

    def detect_risk(self, period: int, rule: RiskRule) -> int:
        """Run the close's risk detectors over ``period``, filing (and recording) their flags;
        how many were new."""
        ...

    def seal(self, period: int) -> None:
        """Seal the closed period's journal (and any earlier unsealed one), chained to the last seal."""
        ...
