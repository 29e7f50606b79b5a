"""The audit trail (审计日志): every operator action, with who did it, when, through which
request, and what changed; append-only under the same guards as the journal.

**Auditing an action** takes one call in its use case, after the change and only when something
changed (an idempotent replay records nothing)::

    uow.audit("party.frozen", f"party:{party_id}", {"reason": reason})

:meth:`UnitOfWork.audit <gongsheng.services.unit_of_work.UnitOfWork.audit>` buffers the record;
the unit of work writes it at commit in the action's own transaction, so a record exists if and
only if its action committed (a refused or rolled-back action leaves none). The record names the
unit of work's actor; the entry point says who that is, once per request, with
``platform.as_actor(actor)`` (the API and the web: ``deps.actor_of(principal)``; the command
line: ``cli:<os user>``). A use case run on a platform no one acts for is recorded as
``system``. Names are dotted lower-case (``<object>.<what happened>``), targets ``kind:id``.

Actions recorded today (the action, its target, what changed):

- ``policy.uploaded`` (``policy:<version>``: name, digest, active_from_period);
  ``policy.activated`` (``policy:<version>``: period, previous_version_id), by the close that
  starts using it;
- ``period.closed`` (``period:<n>``: force_promise, release and nominal rate, released and
  unfunded fen);
- ``party.registered`` (``party:<id>``: kind, name) for every party, whoever registers it,
  ``region.created`` (``region:<id>``), ``merchant.rate_changed`` (``party:<id>``);
- ``approval.decided`` (``party:<merchant>``: decision approved / rejected, reason);
  ``invitation.issued`` (``party:<id>``: invitation id, role, expiry; never the token);
- ``payout.made`` (``party:<id>``: payout id, amount_fen): payouts are paid on request with no
  separate decision step, so the payout itself is the decision recorded;
- ``term.ended`` (``party:<partner>``: term_end period);
- ``webhook.created``, ``webhook.deleted``, ``webhook.secret_rotated`` (never the secret),
  ``webhook.delivery_retried`` (``webhook:<id>``);
- ``account.created``, ``account.disabled``, ``account.enabled``, ``account.password_reset``,
  ``account.password_changed`` (``account:<username>``), ``account.demo_logins_created``;
- ``apikey.created``, ``apikey.revoked`` (``apikey:<id>``: label, party, scopes, expiry; never
  the key).

**Reading** (:func:`audit_log`): newest first, filtered by actor, action, target and a time
window, a page at a time with an opaque cursor (keyset on the id: ``adapters/audit_store.py``
says why a walk never repeats or skips a record).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from gongsheng.adapters.audit_store import AuditFilter, StoredRecord, audit_page
from gongsheng.domain.errors import InvalidInput

MAX_PAGE = 200
_CURSOR = re.compile(r"a([0-9]{1,19})")

__all__ = ["MAX_PAGE", "AuditFilter", "AuditPage", "audit_log", "decode_cursor",
           "encode_cursor", "parse_time", "record_view"]


def encode_cursor(row_id: int) -> str:
    """The cursor after which a page resumes (opaque to clients: ``a<id>``)."""
    return f"a{row_id}"


def decode_cursor(cursor: str | None) -> int | None:
    """The id a cursor names (None: from the newest); :class:`InvalidInput` if malformed."""
    if cursor is None or cursor == "":
        return None
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise InvalidInput("the cursor is not one the audit log gave out")
    return int(match.group(1))


@dataclass(frozen=True)
class AuditPage:
    """A page of records, newest first, and the cursor of the next page (None: this is the last)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def record_view(r: StoredRecord) -> dict[str, Any]:
    """One record as the API shows it."""
    return {"id": r.id, "at": r.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "actor": r.actor, "request_id": r.request_id, "action": r.action,
            "target": r.target, "changes": r.changes}


def audit_log(conn: Connection, where: AuditFilter, cursor: str | None = None,
              limit: int = 50) -> AuditPage:
    """The records matching ``where`` after ``cursor``, newest first, at most ``limit``."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must lie in 1..{MAX_PAGE}")
    if where.since is not None and where.until is not None and where.until <= where.since:
        raise InvalidInput("until must be later than since")
    page = audit_page(conn, where, decode_cursor(cursor), limit)
    return AuditPage([record_view(r) for r in page.items],
                     None if page.older is None else encode_cursor(page.older))


def parse_time(value: str | None, name: str) -> dt.datetime | None:
    """An RFC 3339 time from a query (a date alone is its midnight, UTC when no zone is given)."""
    if value is None or value == "":
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)  # overflows at the ends of the calendar
    except (ValueError, OverflowError):
        raise InvalidInput(f"{name} must be an ISO 8601 time (2026-01-31T12:00:00Z)") from None
