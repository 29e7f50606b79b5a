"""The database schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Design rules that keep the hot path cheap at platform scale:

- the journal (``journal_entries``, ``postings``) is append-only; triggers refuse updates and
  deletes and refuse an entry whose postings do not balance per asset (see ``ddl.py``);
- balances are kept in ``balances`` rows, one per (account, asset, stripe): a must-stay-positive
  account (points, vouchers, units) has one stripe (0), so a ``CHECK`` keeps it from going
  negative even under concurrent writers; every other account (the platform's pool, revenue and
  clearing accounts, and parties' cash: a partner's or BM's commissions, a merchant's settlement)
  is spread over :data:`STRIPES` rows so that concurrent orders do not queue on one row;
- per-period counters (``period_counters``) and release-group points (``group_points``) are
  striped the same way; a period close reads O(stripes x groups) rows, never O(holders);
- the two tables every order inserts into row by row carry no foreign keys, since each would cost
  a referential-integrity trigger call (a lookup under a share lock) per row: ``postings.entry_id``
  (8-12 legs per order) is checked by the journal's own statement trigger instead (a leg whose
  entry does not exist, or lies outside its ``leg_count``, is refused: ``ddl.py``), and entries
  are append-only, so an entry with legs can never disappear; ``orders.consumer_id``,
  ``merchant_id`` and ``policy_version_id`` are read (the context query, the open period) in the
  order's own transaction before it is written, parties and policy versions are never deleted,
  and ``verify`` reports any order naming an unknown party or version. The trade: a client
  writing orders by hand behind the service layer is caught by ``verify``, not at the insert.
  Migration 0002 drops these constraints from databases made before.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    literal_column,
    text,
)

from gongsheng.domain.orders import IDENTIFIER_LENGTH as _IDENTIFIER_LENGTH

STRIPES = 64
"""Rows each hot platform account, counter and group total is spread over."""
IDENTIFIER_LENGTH = _IDENTIFIER_LENGTH
"""Longest ``payment_ref`` or ``device_id`` an order may carry."""

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's rowid alias must be INTEGER


def _created() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


policy_versions = Table(
    "policy_versions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("digest", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("body", Text, nullable=False),  # the policy mapping as JSON
    Column("active_from_period", Integer, nullable=True),
    _created(),
)

periods = Table(
    "periods", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("starts_on", String(10), nullable=False),
    Column("ends_on", String(10), nullable=False),
    Column("status", String(8), nullable=False),  # open | closed
    Column("policy_version_id", ForeignKey("policy_versions.id"), nullable=False),
    Column("release_rate", BigInteger, nullable=True),  # scaled by release.SCALE
    Column("nominal_rate", BigInteger, nullable=True),
    Column("released_fen", BigInteger, nullable=True),
    Column("unfunded_fen", BigInteger, nullable=True),
    Column("figures", Text, nullable=True),  # MODEL.md section 8 figures as JSON, set at close
    Column("closed_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("status in ('open', 'closed')", name="status"),
)
Index("uq_periods_one_open", periods.c.status, unique=True,
      sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'"))

close_requests = Table(
    "close_requests", metadata,  # Idempotency-Key of each period close asked through the API
    Column("idem_key", String(200), primary_key=True),
    Column("period", Integer, nullable=False),
    Column("request_hash", String(64), nullable=True),  # null on rows written before 0008
    _created(),
)

events = Table(
    "events", metadata,  # the transactional outbox: one row per domain event, written at commit
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),  # stable: "evt_" + 32 hex
    Column("type", String(60), nullable=False),
    Column("version", Integer, nullable=False),
    Column("period", Integer, nullable=False),
    Column("body", Text, nullable=False),  # JSON, integer fen / centi-points as in the API
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # PostgreSQL: the id of the writing transaction (pg_current_xact_id); the feed serves events
    # in (txid, id) order once their transaction is older than every running one. SQLite: 0.
    Column("txid", BigInteger, nullable=False, server_default="0"),
)
Index("ix_events_position", events.c.txid, events.c.id)

parties = Table(
    "parties", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),
    Column("name", String(200), nullable=False),
    _created(),
    # the party's id on the platform it was imported from (``gongsheng import``); unique
    Column("external_id", String(IDENTIFIER_LENGTH), nullable=True, unique=True),
    CheckConstraint(
        "kind in ('platform', 'consumer', 'merchant', 'bm', 'partner', 'promoter')", name="kind"
    ),
)
# the directory's list of one kind, newest first by key (adapters/paging.py); on PostgreSQL a
# trigram index of ``name`` answers name searches (paging.install_name_search, migration 0021)
Index("ix_parties_kind_key", parties.c.kind, parties.c.id)
# a search by a name's first one or two characters, newest first: one index range read in key
# order per term length (paging.term_matches, paging.name_start; migration 0023)
NAME_START_LENGTHS = (1, 2)
for _n in NAME_START_LENGTHS:
    Index(f"ix_parties_name_start{_n}",
          func.substr(parties.c.name, literal_column("1"), literal_column(str(_n))), parties.c.id)

regions = Table(
    "regions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("parent_id", ForeignKey("regions.id"), nullable=True),
    Column("name", String(200), nullable=False),
    Column("level", String(10), nullable=False),  # province | city | district
    Column("merchant_universe", Integer, nullable=False, server_default="0"),
    _created(),
    CheckConstraint("merchant_universe >= 0", name="universe"),
)

partners = Table(
    "partners", metadata,
    Column("party_id", ForeignKey("parties.id"), primary_key=True),
    Column("region_id", ForeignKey("regions.id"), nullable=False),
    Column("investment_fen", BigInteger, nullable=False),
    Column("term_start", Integer, nullable=False),  # period seq
    Column("term_end", Integer, nullable=True),  # the last period of a term that ended
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("term_periods", Integer, nullable=True),  # the agreed length of the term, if any
    CheckConstraint("investment_fen >= 0", name="investment"),
)
Index("uq_partners_region_active", partners.c.region_id, unique=True,
      sqlite_where=text("active"), postgresql_where=text("active"))

promoters = Table(
    "promoters", metadata,
    Column("party_id", ForeignKey("parties.id"), primary_key=True),
    Column("partner_id", ForeignKey("partners.party_id"), nullable=False, index=True),
)

business_managers = Table(
    "business_managers", metadata,
    Column("party_id", ForeignKey("parties.id"), primary_key=True),
)

merchants = Table(
    "merchants", metadata,
    Column("party_id", ForeignKey("parties.id"), primary_key=True),
    Column("category", String(50), nullable=False),
    Column("channel", String(10), nullable=False),  # mall | brand | alliance
    Column("region_id", ForeignKey("regions.id"), nullable=False, index=True),
    Column("concession_rate", String(20), nullable=False),  # exact decimal
    Column("accepts_vouchers", Boolean, nullable=False),
    Column("bm_id", ForeignKey("business_managers.party_id"), nullable=True),
    Column("bm_rate", String(20), nullable=True),
    Column("promoter_id", ForeignKey("promoters.party_id"), nullable=True),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    CheckConstraint("channel in ('mall', 'brand', 'alliance')", name="channel"),
)
# a BM's bound merchants and a promoter's signed ones, paged by key (reports.party_merchants)
Index("ix_merchants_bm_key", merchants.c.bm_id, merchants.c.party_id)
Index("ix_merchants_promoter_key", merchants.c.promoter_id, merchants.c.party_id)

consumers = Table(
    "consumers", metadata,
    Column("party_id", ForeignKey("parties.id"), primary_key=True),
    Column("referrer_id", ForeignKey("consumers.party_id"), nullable=True, index=True),
    Column("home_merchant_id", ForeignKey("merchants.party_id"), nullable=True),
    Column("first_order_key", String(200), nullable=True),
    Column("last_active_period", Integer, nullable=True),
    Column("referral_code", String(20), nullable=True, unique=True),
    CheckConstraint("referrer_id is null or referrer_id <> party_id", name="self_referral"),
)

journal_entries = Table(
    "journal_entries", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(12), nullable=False),
    Column("period", Integer, nullable=False),
    Column("ref_id", BigInteger, nullable=True),  # the order, refund, payout, ... it records
    Column("leg_count", Integer, nullable=False),
    Column("last_leg", Integer, Computed("leg_count - 1", persisted=True)),
    Column("memo", String(200), nullable=False, server_default=""),
    _created(),
    # SQLite has no deferred triggers: this deferred foreign key makes an entry whose last leg
    # was never written uncommittable (the last leg's trigger checks the whole entry).
    # PostgreSQL checks each entry at commit with a constraint trigger instead (ddl.py).
    ForeignKeyConstraint(["id", "last_leg"], ["postings.entry_id", "postings.leg"],
                         name="fk_journal_entries_last_leg", deferrable=True,
                         initially="DEFERRED").ddl_if(dialect="sqlite"),
)
Index("ix_journal_entries_kind_ref", journal_entries.c.kind, journal_entries.c.ref_id)

postings = Table(
    "postings", metadata,
    Column("entry_id", BigInteger, primary_key=True, autoincrement=False),  # no FK: see above
    Column("leg", Integer, primary_key=True, autoincrement=False),
    Column("account_id", BigInteger, nullable=False),
    Column("asset", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("asset in ('CNY', 'PTS', 'VCH')", name="asset"),
    CheckConstraint("leg >= 0", name="leg"),
)
Index("ix_postings_account", postings.c.account_id, postings.c.entry_id)

balances = Table(
    "balances", metadata,
    Column("account_id", BigInteger, primary_key=True, autoincrement=False),
    Column("asset", String(3), primary_key=True),
    Column("stripe", Integer, primary_key=True, autoincrement=False),
    Column("amount", BigInteger, nullable=False),
    Column("nonneg", Boolean, nullable=False),
    CheckConstraint("not nonneg or amount >= 0", name="nonneg"),
)

orders = Table(
    "orders", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idem_key", String(200), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("consumer_id", BigInteger, nullable=False),  # no FKs on orders: see above
    Column("merchant_id", BigInteger, nullable=False),
    Column("channel", String(10), nullable=False),
    Column("region_id", BigInteger, nullable=False),
    Column("period", Integer, nullable=False),
    Column("policy_version_id", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("voucher_fen", BigInteger, nullable=False),
    Column("voucher_cost_fen", BigInteger, nullable=False),
    Column("concession_fen", BigInteger, nullable=False),
    Column("concession_rate", String(20), nullable=False),
    Column("contract_rate", String(20), nullable=False),
    Column("pool_fen", BigInteger, nullable=False),
    Column("allocations", Text, nullable=False),  # JSON: [[part, recipient, party_id, fen], ...]
    Column("consumer_cpts", BigInteger, nullable=False),
    Column("merchant_cpts", BigInteger, nullable=False),
    Column("referrer_id", BigInteger, nullable=True),
    Column("referrer_cpts", BigInteger, nullable=False),
    Column("refunded_fen", BigInteger, nullable=False, server_default="0"),
    Column("payment_ref", String(IDENTIFIER_LENGTH), nullable=True),  # hash of the instrument
    Column("device_id", String(IDENTIFIER_LENGTH), nullable=True),
    _created(),
    CheckConstraint("amount_fen > 0", name="amount"),
    CheckConstraint("voucher_fen >= 0 and voucher_fen <= amount_fen", name="voucher"),
    CheckConstraint("refunded_fen >= 0 and refunded_fen <= amount_fen", name="refunded"),
)
Index("ix_orders_period", orders.c.period)
# the velocity cap counts a consumer's orders of the period (and at one merchant) on this index,
# reading at most cap + 1 of its entries
Index("ix_orders_consumer_period", orders.c.consumer_id, orders.c.period, orders.c.merchant_id)
# a party's orders newest first, paged by key (``id < before``): an index range, never a sort
Index("ix_orders_consumer_key", orders.c.consumer_id, orders.c.id)
Index("ix_orders_merchant_key", orders.c.merchant_id, orders.c.id)

refunds = Table(
    "refunds", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idem_key", String(200), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("period", Integer, nullable=False),
    Column("clawback_fen", BigInteger, nullable=False, server_default="0"),
    Column("platform_cover_fen", BigInteger, nullable=False, server_default="0"),
    _created(),
    CheckConstraint("amount_fen > 0", name="amount"),
)
Index("ix_refunds_period", refunds.c.period)  # the close's refund-after-release detector

payouts = Table(
    "payouts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idem_key", String(200), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("party_id", ForeignKey("parties.id"), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("period", Integer, nullable=False),
    Column("balance_after_fen", BigInteger, nullable=True),  # returned again on a replay
    _created(),
    CheckConstraint("amount_fen > 0", name="amount"),
)

holdings = Table(
    "holdings", metadata,
    Column("holder_id", BigInteger, primary_key=True, autoincrement=False),
    Column("start_period", Integer, primary_key=True, autoincrement=False),
    Column("multiple", String(20), primary_key=True),
    Column("points_cpts", BigInteger, nullable=False),
    Column("settled_fen", BigInteger, nullable=False, server_default="0"),  # checkpoint
    CheckConstraint("points_cpts >= 0", name="points"),
    CheckConstraint("settled_fen >= 0", name="settled"),
)

group_points = Table(
    "group_points", metadata,
    Column("start_period", Integer, primary_key=True, autoincrement=False),
    Column("multiple", String(20), primary_key=True),
    Column("stripe", Integer, primary_key=True, autoincrement=False),
    Column("points_cpts", BigInteger, nullable=False),
)

release_groups = Table(
    "release_groups", metadata,
    Column("start_period", Integer, primary_key=True, autoincrement=False),
    Column("multiple", String(20), primary_key=True),
    Column("fraction", BigInteger, nullable=False, server_default="0"),  # F_g x SCALE
    Column("issued_fen", BigInteger, nullable=False, server_default="0"),  # floor(V_g F_g)
    Column("points_cpts", BigInteger, nullable=False, server_default="0"),  # as of last close
)

period_counters = Table(
    "period_counters", metadata,
    Column("period", Integer, primary_key=True, autoincrement=False),
    Column("name", String(40), primary_key=True),
    Column("stripe", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)

party_period_totals = Table(
    # per-(party, period) totals kept as entries post (domain/party_totals.py): what reports
    # and statements read instead of summing postings; striped like the counters
    "party_period_totals", metadata,
    Column("party_id", BigInteger, primary_key=True, autoincrement=False),
    Column("period", Integer, primary_key=True, autoincrement=False),
    Column("name", String(40), primary_key=True),
    Column("stripe", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)
# heavy buyers of a period and referrers of many idle referees (risk's reads): an index range
_RISKY = party_period_totals.c.name.in_(["buyer:orders", "referees:idle"])
Index("ix_party_period_totals_risk", party_period_totals.c.name, party_period_totals.c.period,
      party_period_totals.c.value, postgresql_where=_RISKY, sqlite_where=_RISKY)

users = Table(
    "users", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False, unique=True),
    # the name folded to one representative per look-alike class (services.usernames): unique,
    # so no two accounts read the same; sign-in looks names up by it
    Column("username_key", String(400), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(10), nullable=False),
    Column("party_id", ForeignKey("parties.id"), nullable=True),
    Column("demo", Boolean, nullable=False, server_default=text("false")),
    # every token names the generation it was issued in; signing out, a password change and
    # disabling the account move it on, which ends every token issued before
    Column("session_generation", BigInteger, nullable=False, server_default="0"),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    _created(),
    CheckConstraint(
        "role in ('admin', 'consumer', 'merchant', 'bm', 'partner', 'promoter')", name="role"
    ),
)

database_identity = Table(
    "database_identity", metadata,
    # one row, made at first use: the random id tokens are bound to (their audience and the key
    # they are signed with), so a token of one database is worthless on another
    Column("singleton", Integer, primary_key=True, autoincrement=False),
    Column("database_id", String(64), nullable=False),
    _created(),
    CheckConstraint("singleton = 1", name="one_row"),
)

share_programmes = Table(
    "share_programmes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("merchant_id", ForeignKey("merchants.party_id"), nullable=False, index=True),
    Column("unit_price_cpts", BigInteger, nullable=False),
    Column("units_offered", BigInteger, nullable=False),
    Column("units_sold", BigInteger, nullable=False, server_default="0"),
    Column("profit_share", String(20), nullable=False),
    _created(),
    CheckConstraint("units_sold >= 0 and units_sold <= units_offered", name="units"),
    CheckConstraint("unit_price_cpts > 0", name="price"),
)
# the programmes with units left, newest first by key (sold-out ones are not read)
Index("ix_share_programmes_open", share_programmes.c.id,
      sqlite_where=text("units_sold < units_offered"),
      postgresql_where=text("units_sold < units_offered"))

share_units = Table(
    "share_units", metadata,
    Column("programme_id", ForeignKey("share_programmes.id"), primary_key=True),
    Column("holder_id", ForeignKey("parties.id"), primary_key=True),
    Column("units", BigInteger, nullable=False),
    CheckConstraint("units >= 0", name="units"),
)

share_dividends = Table(
    "share_dividends", metadata,
    Column("programme_id", ForeignKey("share_programmes.id"), primary_key=True),
    Column("period", Integer, primary_key=True, autoincrement=False),
    Column("profit_fen", BigInteger, nullable=False),
    Column("paid_fen", BigInteger, nullable=False),
)

invitations = Table(
    "invitations", metadata,  # one-time links that let a new login choose its own password
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the link's token
    Column("role", String(10), nullable=False),
    Column("party_id", ForeignKey("parties.id"), nullable=True, index=True),
    Column("created_by", String(100), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("user_id", ForeignKey("users.id"), nullable=True),
    _created(),
)

merchant_signings = Table(
    "merchant_signings", metadata,  # who signed a merchant, and the operator's decision
    Column("merchant_id", ForeignKey("merchants.party_id"), primary_key=True),
    Column("status", String(10), nullable=False),  # pending | approved | rejected
    Column("signer_role", String(10), nullable=False),
    Column("signer_id", BigInteger, nullable=True),  # the BM or promoter; None for an admin
    Column("reason", String(500), nullable=True),
    Column("decided_by", String(100), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    _created(),
    CheckConstraint("status in ('pending', 'approved', 'rejected')", name="status"),
)
Index("ix_merchant_signings_status", merchant_signings.c.status, merchant_signings.c.merchant_id)
Index("ix_merchant_signings_signer_key", merchant_signings.c.signer_id,  # a signer's, by key
      merchant_signings.c.merchant_id)

action_requests = Table(
    "action_requests", metadata,  # Idempotency-Key of keyed writes without a table of their own
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idem_key", String(300), nullable=False, unique=True),
    Column("action", String(40), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("result", Text, nullable=False),  # the first answer, as JSON
    _created(),
)

pay_codes = Table(
    "pay_codes", metadata,  # domain.pay_codes: a consumer's one-time consent to spend vouchers
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code_hash", String(64), nullable=False, unique=True),  # SHA-256 hex; never the code
    Column("consumer_id", ForeignKey("consumers.party_id"), nullable=False),
    Column("merchant_id", ForeignKey("merchants.party_id"), nullable=True),  # None: any merchant
    Column("max_voucher_fen", BigInteger, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_key", String(200), nullable=True),  # the Idempotency-Key of the order that used it
    Column("used_at", DateTime(timezone=True), nullable=True),
    _created(),
    CheckConstraint("max_voucher_fen > 0", name="max_voucher"),
    CheckConstraint("(used_key is null) = (used_at is null)", name="used"),
)
Index("ix_pay_codes_consumer_live", pay_codes.c.consumer_id, pay_codes.c.expires_at,
      sqlite_where=text("used_key is null"), postgresql_where=text("used_key is null"))
forecasts = Table(  # the stored forecast, refreshed after each close (services/forecast_store.py)
    "forecasts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("period", Integer, nullable=False, index=True),  # last closed period it starts after
    Column("policy_digest", String(32), nullable=False),
    Column("runs", Integer, nullable=False),
    Column("horizon", Integer, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("summary", Text, nullable=False),   # JSON: bands of the operator's figures
    Column("holdings", Text, nullable=False),  # JSON: completion band per release group
    Column("outlook", Text, nullable=False),   # JSON: the forecast controller's low band
    _created(),
)

# Webhooks: subscriptions, one delivery per (subscription, event), one row per attempt.
# Scheduling columns are integer epoch milliseconds (the same on both dialects).
webhook_subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("event_types", Text, nullable=False),  # JSON list of event type names
    Column("secret", String(100), nullable=False),  # whsec_...: signs every delivery
    Column("previous_secret", String(100), nullable=True),  # also signs until previous_until_ms
    Column("previous_until_ms", BigInteger, nullable=True),
    Column("status", String(10), nullable=False, server_default="active"),
    Column("cursor_txid", BigInteger, nullable=False, server_default="0"),  # feed position done
    Column("cursor_id", BigInteger, nullable=False, server_default="0"),
    # PostgreSQL: the snapshot it was made in; events of transactions visible in it came before
    Column("start_snapshot", Text, nullable=True),
    Column("lease_owner", String(100), nullable=True),  # the worker delivering it now
    Column("lease_until_ms", BigInteger, nullable=False, server_default="0"),  # claimable after
    Column("failures", Integer, nullable=False, server_default="0"),  # failed attempts in a row
    Column("disabled_reason", String(500), nullable=True),
    _created(),
    CheckConstraint("status in ('active', 'disabled', 'deleted')", name="status"),
)
Index("ix_webhook_subscriptions_claim", webhook_subscriptions.c.status,
      webhook_subscriptions.c.lease_until_ms)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subscription_id", ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("event_row", BigInteger, nullable=False),  # events.id
    Column("status", String(10), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("first_attempt_ms", BigInteger, nullable=True),
    Column("next_attempt_ms", BigInteger, nullable=False, server_default="0"),
    Column("delivered_ms", BigInteger, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    _created(),
    CheckConstraint("status in ('pending', 'delivered', 'failed')", name="status"),
)
Index("uq_webhook_deliveries_event", webhook_deliveries.c.subscription_id,
      webhook_deliveries.c.event_row, unique=True)
Index("ix_webhook_deliveries_pending", webhook_deliveries.c.subscription_id,
      webhook_deliveries.c.status, webhook_deliveries.c.id)

webhook_attempts = Table(
    "webhook_attempts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", ForeignKey("webhook_deliveries.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(100), nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("status_code", Integer, nullable=True),  # None: no answer (refused, timed out, ...)
    Column("error", String(500), nullable=True),
)

earnings = Table(
    "earnings", metadata,  # domain.holds: cash earned per (party, period of the order), striped
    Column("party_id", BigInteger, primary_key=True, autoincrement=False),
    Column("period", Integer, primary_key=True, autoincrement=False),  # the order's period
    Column("stripe", Integer, primary_key=True, autoincrement=False),
    Column("amount_fen", BigInteger, nullable=False),  # orders add, their refunds take back
)

party_freezes = Table(
    "party_freezes", metadata,  # services.freezes: one row per freeze; open while unfrozen_at is null
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("party_id", ForeignKey("parties.id"), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("frozen_by", String(100), nullable=False),
    Column("frozen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("unfrozen_by", String(100), nullable=True),
    Column("unfrozen_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("(unfrozen_by is null) = (unfrozen_at is null)", name="unfrozen"),
)
Index("uq_party_freezes_open", party_freezes.c.party_id, unique=True,
      sqlite_where=text("unfrozen_at is null"), postgresql_where=text("unfrozen_at is null"))
Index("ix_party_freezes_party", party_freezes.c.party_id, party_freezes.c.id)


api_keys = Table(
    # integration keys (domain/api_keys.py): the text gsk_<lookup>_<secret> is shown once; only
    # its SHA-256 digest is stored, and ``lookup`` (unique) finds the row in one indexed read
    "api_keys", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("lookup", String(32), nullable=False, unique=True),
    Column("secret_digest", String(64), nullable=False),
    Column("label", String(200), nullable=False),
    Column("party_id", ForeignKey("parties.id"), nullable=True),  # None: a platform key
    Column("scopes", String(500), nullable=False),  # space-separated, sorted
    Column("rate_limit", String(50), nullable=True),  # None: the configured default
    Column("expires_ms", BigInteger, nullable=True),  # None: never expires
    Column("last_used_ms", BigInteger, nullable=True),  # written at most once a minute
    Column("revoked_ms", BigInteger, nullable=True),
    Column("created_by", ForeignKey("users.id"), nullable=True),  # None: the command line
    _created(),
)

audit_log = Table(
    # who did what (views/audit.py): one row per operator action, written in the action's own
    # transaction; append-only, like the journal (updates and deletes refused by triggers, ddl.py)
    "audit_log", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),  # UTC, the action's time
    Column("actor", String(200), nullable=False),  # a login, apikey:<id>, cli:<user>, system, ...
    Column("request_id", String(128), nullable=True),  # the HTTP request's X-Request-ID
    Column("action", String(200), nullable=False),  # dotted: policy.uploaded, period.closed, ...
    Column("target", String(200), nullable=False),  # kind:id, e.g. party:42, period:3
    Column("changes", Text, nullable=False),  # JSON object: what changed
)
# the page's filters, each walked newest first by id (keyset paging)
Index("ix_audit_log_actor", audit_log.c.actor, audit_log.c.id)
Index("ix_audit_log_action", audit_log.c.action, audit_log.c.id)
Index("ix_audit_log_target", audit_log.c.target, audit_log.c.id)
Index("ix_audit_log_at", audit_log.c.at)
# Seals of closed periods (domain/seals.py, docs/integrity.md): append-only, guarded like the
# journal (adapters/seal_store.py). One row per period, written once at its close, and one per
# chunk of its entries; nothing here is touched by orders.
period_seals = Table(
    "period_seals", metadata,
    Column("period", Integer, primary_key=True, autoincrement=False),
    Column("first_id", BigInteger, nullable=False),  # the sealed range of journal entry ids
    Column("last_id", BigInteger, nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("postings", BigInteger, nullable=False),
    Column("previous", String(64), nullable=True),  # hex SHA-256 of the previous seal
    Column("digest", String(64), nullable=False),   # hex SHA-256 of this seal
    _created(),
)

period_seal_chunks = Table(
    "period_seal_chunks", metadata,
    Column("period", Integer, primary_key=True, autoincrement=False),
    Column("chunk", BigInteger, primary_key=True, autoincrement=False),
    Column("first_id", BigInteger, nullable=False),
    Column("last_id", BigInteger, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("postings", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("fingerprints", LargeBinary, nullable=False),  # 8 bytes per entry, in id order
)

# Risk: the shared-identifier graph, flags and cases (services/detectors.py, services/cases.py)
risk_identifiers = Table(
    "risk_identifiers", metadata,  # which party used which instrument or device (an edge each)
    Column("kind", String(10), nullable=False),  # "payment" | "device"
    Column("value", String(IDENTIFIER_LENGTH), nullable=False),
    Column("party_id", BigInteger, nullable=False),
    _created(),
    Index("ix_risk_identifiers_edge", "kind", "value", "party_id", unique=True),
)

risk_components = Table(
    "risk_components", metadata,  # union-find, flattened: every party's component (its root)
    Column("party_id", BigInteger, primary_key=True, autoincrement=False),
    Column("root_id", BigInteger, nullable=False, index=True),
    Column("size", Integer, nullable=False, server_default="1"),  # meaningful on the root's row
)

risk_flags = Table(
    "risk_flags", metadata,  # what a detector saw, once per flag_key; every flag belongs to a case
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("flag_key", String(200), nullable=False, unique=True),
    Column("detector", String(40), nullable=False),
    Column("period", Integer, nullable=False, index=True),
    Column("party_id", BigInteger, nullable=True),
    Column("detail", Text, nullable=False),
    Column("case_id", BigInteger, nullable=True),
    _created(),
)

cases = Table(
    "cases", metadata,  # an abuse case: open -> investigating -> confirmed | dismissed
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("detector", String(40), nullable=False),  # "manual" for a case an admin opened
    Column("status", String(20), nullable=False),
    Column("summary", Text, nullable=False),
    Column("period", Integer, nullable=False),
    Column("open_key", String(200), nullable=True, unique=True),  # set while undecided
    Column("opened_by", String(200), nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("decision", Text, nullable=True),  # JSON: what confirming did (frozen, refunded)
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

Index("ix_cases_status_key", cases.c.status, cases.c.id)  # the list by status, by key

case_parties = Table(
    "case_parties", metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True),
    Column("party_id", BigInteger, primary_key=True),
    Column("role", String(20), nullable=False),  # merchant | consumer | referrer | party
)

case_orders = Table(
    "case_orders", metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True),
    Column("order_id", BigInteger, primary_key=True),
)

case_notes = Table(
    "case_notes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("body", Text, nullable=False),
    _created(),
)
