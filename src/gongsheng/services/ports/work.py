"""The unit of work as the converted use cases see it: stores, events, audit, locks."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from gongsheng.domain.events import Event
from gongsheng.services.ports.accounts import AccountStore
from gongsheng.services.ports.api_keys import ApiKeyStore
from gongsheng.services.ports.cases import CaseStore
from gongsheng.services.ports.cashier import CashierStore
from gongsheng.services.ports.closing import ClosingStore
from gongsheng.services.ports.external_ids import ExternalIdStore
from gongsheng.services.ports.forecasts import ForecastStore
from gongsheng.services.ports.freezes import FreezeStore
from gongsheng.services.ports.holdings import HoldingStore
from gongsheng.services.ports.invitations import InvitationStore
from gongsheng.services.ports.ledger import LedgerStore
from gongsheng.services.ports.network import NetworkStore
from gongsheng.services.ports.orders import OrderStore
from gongsheng.services.ports.parties import PartyStore
from gongsheng.services.ports.pay_codes import PayCodeStore
from gongsheng.services.ports.periods import PeriodStore
from gongsheng.services.ports.policies import PolicyStore
from gongsheng.services.ports.programmes import ProgrammeStore
from gongsheng.services.ports.requests import RequestStore
from gongsheng.services.ports.risk import RiskStore
from gongsheng.services.ports.seals import SealStore
from gongsheng.services.ports.signing import SigningStore
from gongsheng.services.ports.wallets import WalletStore
from gongsheng.services.ports.webhooks import WebhookStore

if TYPE_CHECKING:
    from gongsheng.domain.events import Recorded


class Stores(Protocol):
    """The stores of one transaction."""

    @property
    def ledger(self) -> LedgerStore: ...
    @property
    def holdings(self) -> HoldingStore: ...
    @property
    def periods(self) -> PeriodStore: ...
    @property
    def parties(self) -> PartyStore: ...
    @property
    def requests(self) -> RequestStore: ...
    @property
    def policies(self) -> PolicyStore: ...
    @property
    def programmes(self) -> ProgrammeStore: ...
    @property
    def orders(self) -> OrderStore: ...
    @property
    def freezes(self) -> FreezeStore: ...
    @property
    def wallets(self) -> WalletStore: ...
    @property
    def forecasts(self) -> ForecastStore: ...
    @property
    def seals(self) -> SealStore: ...
    @property
    def external_ids(self) -> ExternalIdStore: ...
    @property
    def webhooks(self) -> WebhookStore: ...
    @property
    def cases(self) -> CaseStore: ...
    @property
    def risk(self) -> RiskStore: ...
    @property
    def network(self) -> NetworkStore: ...
    @property
    def accounts(self) -> AccountStore: ...
    @property
    def api_keys(self) -> ApiKeyStore: ...
    @property
    def cashier(self) -> CashierStore: ...
    @property
    def signings(self) -> SigningStore: ...
    @property
    def invitations(self) -> InvitationStore: ...
    @property
    def pay_codes(self) -> PayCodeStore: ...


class Work(Stores, Protocol):
    """One transaction: its stores, the events and audit records it will write with its change
    (nothing of it stays if it is not committed), and the locks that serialise use cases."""

    @property
    def closing(self) -> ClosingStore: ...

    def record(self, event: Event, *, slot: tuple[str, str] | None = None) -> None:
        """``event`` happened: written with the change, in the order recorded. ``slot``:
        ``(field, key)`` for an event naming a row not written yet, whose id the statement that
        writes it (in :meth:`outbox`) puts in ``field``."""
        ...

    def outbox(self) -> AbstractContextManager[list[Recorded]]:
        """The events recorded so far and in the block, for the block's one write to write
        with its change; dropped from the record when written, and those recorded in the block
        dropped if it raises."""
        ...

    def audit(self, action: str, target: str, changes: dict[str, Any] | None = None) -> None:
        """The unit of work's actor did ``action`` to ``target``: written at commit."""
        ...

    def lock_books(self, *, exclusive: bool = False) -> None:
        """Orders share the books; a close holds them alone."""
        ...

    def lock_adjustments(self, parties: Iterable[int] = ..., *, pool_take: int = 0) -> None:
        """An adjustment's lock: the books shared, each of ``parties``, the pool for a take."""
        ...
