"""``gongsheng apikey create|list|revoke``: integration keys from the operator's console."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from gongsheng.domain.api_keys import Scope

DAY_MS = 86_400_000
DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL (default: GONGSHENG_DB or ./gongsheng.db)")
]
apikey_app = typer.Typer(help="Integration keys for terminals, gateways and reporting.",
                         no_args_is_help=True)


@apikey_app.command("create")
def create(
    label: Annotated[str, typer.Argument(help="what the key is for ('till 3, Merchant M')")],
    scopes: Annotated[list[Scope], typer.Option("--scope", help="a scope (repeat for several)")],
    party: Annotated[int | None, typer.Option(
        "--party", min=1, help="the party the key acts as (default: a platform key)")] = None,
    expires_in_days: Annotated[int | None, typer.Option(
        "--expires-in-days", min=1, max=3650, help="days until it expires (default: never)")] = None,
    rate_limit: Annotated[str | None, typer.Option(
        "--rate-limit", help="its own rate limit, e.g. '6000/minute' (default: the setting)")] = None,
    db: DbOption = None,
) -> None:
    """Issue a key; its secret is printed this once (only its digest is stored)."""
    from gongsheng.entrypoints.cli import guarded, opened, out
    from gongsheng.services import api_keys

    now = int(time.time() * 1000)
    expires = None if expires_in_days is None else now + expires_in_days * DAY_MS
    with opened(db) as plat:
        issued = guarded(lambda: plat.run(
            api_keys.issue_key, label, [s.value for s in scopes], now_ms=now, party_id=party,
            expires_ms=expires, rate_limit=rate_limit))
    key = issued.key
    bound = f"party {key.party_id}" if key.party_id is not None else "the platform"
    out.print(f"API key {key.id} ({key.prefix}) for {bound}: {' '.join(key.scopes)}"
              f"{'; expires ' + key.expires_at if key.expires_at else ''}")
    out.print("secret (shown once; send it as 'Authorization: Bearer <secret>'):")
    print(issued.secret)


@apikey_app.command("list")
def list_keys(
    active: Annotated[bool, typer.Option("--active", help="leave revoked keys out")] = False,
    db: DbOption = None,
) -> None:
    """Every key: scopes, party, expiry, last use, status (never a secret)."""
    from gongsheng.entrypoints.cli import guarded, opened, out
    from gongsheng.services import api_keys

    now = int(time.time() * 1000)
    with opened(db) as plat:
        found = guarded(lambda: plat.read(
            lambda c: api_keys.list_keys(c, now_ms=now, include_revoked=not active)))
    table = Table(title="API keys")
    for column in ("id", "prefix", "label", "party", "scopes", "expires", "last used", "status"):
        table.add_column(column)
    for k in found:
        table.add_row(str(k.id), k.prefix, k.label, "platform" if k.party_id is None else str(k.party_id),
                      " ".join(k.scopes), k.expires_at or "never", k.last_used_at or "never", k.status)
    out.print(table)


@apikey_app.command("revoke")
def revoke(key_id: Annotated[int, typer.Argument(min=1, help="the key's id")], db: DbOption = None) -> None:
    """Revoke a key: it is refused from its next request on."""
    from gongsheng.entrypoints.cli import guarded, opened, out
    from gongsheng.services import api_keys

    now = int(time.time() * 1000)
    with opened(db) as plat:
        key = guarded(lambda: plat.run(api_keys.revoke_key, key_id, now_ms=now))
    out.print(f"API key {key.id} ({key.prefix}) revoked")
