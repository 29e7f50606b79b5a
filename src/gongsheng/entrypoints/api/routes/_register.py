"""Registering a party and, optionally, its login in one transaction (shared by the party routes)."""

from __future__ import annotations

from collections.abc import Callable

from gongsheng.entrypoints.api.schemas import Login, PartyOut
from gongsheng.services import accounts
from gongsheng.services.platform import Platform
from gongsheng.services.unit_of_work import UnitOfWork
from gongsheng.views.reports import party_profile


def register(platform: Platform, create: Callable[[UnitOfWork], int], role: str,
             login: Login | None) -> PartyOut:
    """Run ``create`` and, when ``login`` is given, create the party's login; all or nothing."""

    def use_case(uow: UnitOfWork) -> PartyOut:
        party = create(uow)
        if login is not None:
            accounts.create_account(uow, login.username, login.password, role, party)
        profile = party_profile(uow.conn, party)
        return PartyOut(party_id=party, kind=profile["kind"], name=profile["name"],
                        username=login.username if login else None,
                        referral_code=profile.get("referral_code"))

    return platform.run(use_case)
