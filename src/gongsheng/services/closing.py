"""The close's steps that belong to other concepts (forecast, risk, seals), on the SQL books.

:class:`SqlClosing` is the real :class:`~gongsheng.services.ports.closing.ClosingStore`: it
runs the services that keep those concepts, in the unit of work's transaction.
"""

from __future__ import annotations

from gongsheng.domain.policy import Controller, RiskRule
from gongsheng.domain.release import Outlook
from gongsheng.services import risk
from gongsheng.services.forecast_store import stored_outlook
from gongsheng.services.seals import seal_at_close
from gongsheng.services.unit_of_work import UnitOfWork


class SqlClosing:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def outlook(self, period: int, controller: Controller) -> Outlook | None:
        return stored_outlook(self.uow, period, controller)

    def detect_risk(self, period: int, rule: RiskRule) -> int:
        return risk.detect_at_close(self.uow, period, rule)

    def seal(self, period: int) -> None:
        seal_at_close(self.uow, period)
