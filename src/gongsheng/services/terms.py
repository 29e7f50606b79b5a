"""A city partner's term (任期) over its region: assigned with an investment, ended by the operator.

Invariants: one active partner per region (:func:`registry.create_partner` and a unique index);
ending a term marks the partner inactive with ``term_end`` the open period, so from the next
order on the region's partner dividend goes to the dividend pool (the order reads the region's
active partner in its own transaction) and the partner's report is closed at that period; an
ended term is never reopened (a new term is a new partner), and its promoters sign no more.
"""

from __future__ import annotations

from gongsheng.domain.errors import Conflict, InvalidInput, NotFound
from gongsheng.services import registry
from gongsheng.services.ports.work import Work

MAX_TERM = 1200


def assign(uow: Work, name: str, region_id: int, investment_fen: int,
           term_periods: int | None = None) -> int:
    """A new partner holding ``region_id`` from the open period, for ``term_periods`` if agreed."""
    if term_periods is not None and not 1 <= term_periods <= MAX_TERM:
        raise InvalidInput(f"term_periods must lie in 1..{MAX_TERM}")
    partner = registry.create_partner(uow, name, region_id, investment_fen)
    if term_periods is not None:
        uow.network.set_term_periods(partner, term_periods)
    return partner


def end_term(uow: Work, partner_id: int) -> int:
    """End a partner's term in the open period; returns that period (the term's last)."""
    active = uow.network.partner_active(partner_id)
    if active is None:
        raise NotFound(f"partner {partner_id} does not exist")
    if not active:
        raise Conflict(f"partner {partner_id}'s term has already ended")
    uow.lock_books()  # an order in flight keeps the partner it read; the next one sees the end
    period = uow.periods.open_period().seq
    uow.network.end_term(partner_id, period)
    uow.audit("term.ended", f"party:{partner_id}", {"term_end": period})
    return period
