"""The SQL stores of one connection, built together (the real unit of work's wiring uses it)."""

from __future__ import annotations

from sqlalchemy import Connection

from gongsheng.adapters.account_store import SqlAccountStore
from gongsheng.adapters.api_key_store import SqlApiKeyStore
from gongsheng.adapters.case_store import SqlCaseStore
from gongsheng.adapters.cashier_store import SqlCashierStore
from gongsheng.adapters.external_id_store import SqlExternalIdStore
from gongsheng.adapters.forecast_store import SqlForecastStore
from gongsheng.adapters.freeze_store import SqlFreezeStore
from gongsheng.adapters.holding_store import SqlHoldingStore
from gongsheng.adapters.invitation_store import SqlInvitationStore
from gongsheng.adapters.ledger import SqlLedgerStore
from gongsheng.adapters.network_store import SqlNetworkStore
from gongsheng.adapters.orders import SqlOrderStore
from gongsheng.adapters.party_store import SqlPartyStore
from gongsheng.adapters.pay_code_store import SqlPayCodeStore
from gongsheng.adapters.period_store import SqlPeriodStore
from gongsheng.adapters.policy_store import SqlPolicyStore
from gongsheng.adapters.programme_store import SqlProgrammeStore
from gongsheng.adapters.request_store import SqlRequestStore
from gongsheng.adapters.risk_store import SqlRiskStore
from gongsheng.adapters.seal_store import SqlSealStore
from gongsheng.adapters.signing_store import SqlSigningStore
from gongsheng.adapters.wallet_store import SqlWalletStore
from gongsheng.adapters.webhook_store import SqlWebhookStore


class SqlStores:
    """Every store on one connection: they share its transaction."""

    def __init__(self, conn: Connection) -> None:
        self.ledger = SqlLedgerStore(conn)
        self.holdings = SqlHoldingStore(conn)
        self.periods = SqlPeriodStore(conn)
        self.parties = SqlPartyStore(conn)
        self.requests = SqlRequestStore(conn)
        self.policies = SqlPolicyStore(conn)
        self.programmes = SqlProgrammeStore(conn)
        self.orders = SqlOrderStore(conn)
        self.freezes = SqlFreezeStore(conn)
        self.wallets = SqlWalletStore(conn)
        self.forecasts = SqlForecastStore(conn)
        self.seals = SqlSealStore(conn)
        self.external_ids = SqlExternalIdStore(conn)
        self.webhooks = SqlWebhookStore(conn)
        self.cases = SqlCaseStore(conn)
        self.risk = SqlRiskStore(conn)
        self.network = SqlNetworkStore(conn)
        self.accounts = SqlAccountStore(conn)
        self.api_keys = SqlApiKeyStore(conn)
        self.cashier = SqlCashierStore(conn)
        self.signings = SqlSigningStore(conn)
        self.invitations = SqlInvitationStore(conn)
        self.pay_codes = SqlPayCodeStore(conn)
