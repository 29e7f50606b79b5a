"""Abuse cases (风险案件): the states a case goes through and who may move it.

A case opens when a detector flags something (or an admin opens one by hand) and names the
parties and orders involved. Its status moves only forward::

    open ──> investigating ──> confirmed
      │            │
      └────────────┴─────────> dismissed

``confirmed`` and ``dismissed`` are final: a decided case is never reopened (a new flag opens a
new case). Moving a case to the status it already has is a no-op (an idempotent repeat), never
an error; any other move not drawn above is refused.
"""

from __future__ import annotations

from enum import StrEnum

from gongsheng.domain.errors import CaseTransitionRefused


class CaseStatus(StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"

    @property
    def decided(self) -> bool:
        """Whether the status is final (confirmed or dismissed)."""
        return self in (CaseStatus.CONFIRMED, CaseStatus.DISMISSED)


TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.INVESTIGATING, CaseStatus.CONFIRMED,
                                CaseStatus.DISMISSED}),
    CaseStatus.INVESTIGATING: frozenset({CaseStatus.CONFIRMED, CaseStatus.DISMISSED}),
    CaseStatus.CONFIRMED: frozenset(),
    CaseStatus.DISMISSED: frozenset(),
}
"""The statuses each status may move to (a repeat of the same status is not a move)."""


def allowed(current: CaseStatus, target: CaseStatus) -> bool:
    """Whether a case in ``current`` may move to ``target``."""
    return target in TRANSITIONS[current]


def check_transition(current: CaseStatus, target: CaseStatus) -> bool:
    """Whether the move changes anything (False: a repeat); refuses a move not allowed."""
    if current is target:
        return False
    if not allowed(current, target):
        raise CaseTransitionRefused(
            f"a case that is {current.value} cannot become {target.value}"
            + (" (it is decided)" if current.decided else ""))
    return True
