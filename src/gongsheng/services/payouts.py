"""Payouts: withdrawals of cash balances (commissions, merchant settlement) as real money.

A party may withdraw when its *available* cash (its balance less the earnings still held for
the policy's ``hold_periods``: ``services.holds``) reaches the policy's threshold, at most that
available amount; a frozen party may not withdraw at all (``services.freezes``). Commissions
reversed after a payout leave a negative balance, netted against later earnings.
Points and vouchers are never paid out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select

from gongsheng.adapters import tables as t
from gongsheng.adapters.ledger_store import balance, post
from gongsheng.adapters.locks import lock_cash
from gongsheng.domain.errors import InsufficientBalance, InvalidInput, NotFound, PartyFrozen
from gongsheng.domain.events import PayoutMade
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, account_id, system_account
from gongsheng.domain.money import yuan
from gongsheng.services.books import add_counters, current_policy
from gongsheng.services.freezes import is_frozen
from gongsheng.services.holds import cash_position
from gongsheng.services.idempotency import check_key, positive_fen, prior_request
from gongsheng.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PayoutResult:
    payout_id: int
    party_id: int
    amount_fen: int
    balance_after_fen: int
    replayed: bool = False


def withdraw(uow: UnitOfWork, party_id: int, amount_fen: int, key: str) -> PayoutResult:
    """Pay ``amount_fen`` of a party's cash balance out (the caller commits)."""
    check_key(key)
    positive_fen(amount_fen, "payout")
    conn = uow.conn
    uow.lock_adjustments([party_id])  # before the key lookup: a same-key retry waits, replays
    body_hash, prior = prior_request(conn, t.payouts, key,
                                     {"party_id": party_id, "amount_fen": amount_fen})
    cash = account_id(party_id, AccountKind.CASH)
    if prior is not None:
        after = prior.balance_after_fen
        return PayoutResult(int(prior.id), party_id, int(prior.amount_fen),
                            balance(conn, cash, Asset.CNY) if after is None else int(after),
                            replayed=True)
    kind = conn.execute(select(t.parties.c.kind).where(t.parties.c.id == party_id)).scalar_one_or_none()
    if kind is None:
        raise NotFound(f"party {party_id} does not exist")
    if kind in ("platform", "consumer"):
        raise InvalidInput(f"a {kind} has no withdrawable cash balance")
    lock_cash(conn, cash)  # so that two withdrawals cannot both pass the check
    if is_frozen(conn, party_id):
        raise PartyFrozen(f"party {party_id} is frozen for review: it cannot withdraw until an "
                          "administrator unfreezes it (its earnings keep accruing)")
    period, policy = current_policy(conn)
    position = cash_position(conn, party_id)
    cash_now, available = position.balance_fen, position.available_fen
    held_note = (f" ({yuan(position.held_fen)} yuan is held for {policy.hold_periods} "
                 "period(s) after it was earned)" if position.held_fen else "")
    if available < policy.withdrawal_threshold_fen:
        raise InsufficientBalance(
            f"available balance {yuan(available)} yuan is below the withdrawal threshold of "
            f"{yuan(policy.withdrawal_threshold_fen)} yuan{held_note}")
    if amount_fen > available:
        raise InsufficientBalance(f"cannot withdraw {yuan(amount_fen)} yuan: the available "
                                  f"balance is {yuan(available)} yuan{held_note}")
    payout_id = int(conn.execute(insert(t.payouts).returning(t.payouts.c.id), {
        "idem_key": key, "request_hash": body_hash, "party_id": party_id,
        "amount_fen": amount_fen, "period": period.seq,
        "balance_after_fen": cash_now - amount_fen}).scalar_one())
    entry = JournalEntry.build(EntryKind.PAYOUT, [
        (cash, Asset.CNY, -amount_fen),
        (system_account(AccountKind.CASH_OUT), Asset.CNY, amount_fen)], f"payout {payout_id}")
    assert entry is not None
    post(conn, entry, period.seq, payout_id)
    add_counters(conn, period.seq, {"payouts_fen": amount_fen})
    uow.record(PayoutMade(period=period.seq, payout_id=payout_id, party_id=party_id,
                          amount_fen=amount_fen, balance_after_fen=cash_now - amount_fen))
    uow.audit("payout.made", f"party:{party_id}", {"payout_id": payout_id,
                                                   "amount_fen": amount_fen})
    return PayoutResult(payout_id, party_id, amount_fen, cash_now - amount_fen)
