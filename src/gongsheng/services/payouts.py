"""Payouts: withdrawals of cash balances (commissions, merchant settlement) as real money.

A party may withdraw when its *available* cash (its balance less the earnings still held for
the policy's ``hold_periods``: ``services.holds``) reaches the policy's threshold, at most that
available amount; a frozen party may not withdraw at all (``services.freezes``). Commissions
reversed after a payout leave a negative balance, netted against later earnings.
Points and vouchers are never paid out.
"""

from __future__ import annotations

from dataclasses import dataclass

from gongsheng.domain.errors import InsufficientBalance, InvalidInput, NotFound, PartyFrozen
from gongsheng.domain.events import PayoutMade
from gongsheng.domain.ledger import AccountKind, Asset, EntryKind, JournalEntry, account_id, system_account
from gongsheng.domain.money import yuan
from gongsheng.services.holds import position_in
from gongsheng.services.idempotency import check_key, positive_fen, request_hash, same_request
from gongsheng.services.ports.work import Work


@dataclass(frozen=True)
class PayoutResult:
    payout_id: int
    party_id: int
    amount_fen: int
    balance_after_fen: int
    replayed: bool = False


def withdraw(uow: Work, party_id: int, amount_fen: int, key: str) -> PayoutResult:
    """Pay ``amount_fen`` of a party's cash balance out (the caller commits).

    A replay of ``key`` with the same request returns the first payout (``replayed``) and
    records nothing; with another request it is a conflict.
    """
    check_key(key)
    positive_fen(amount_fen, "payout")
    uow.lock_adjustments([party_id])  # before the key lookup: a same-key retry waits, replays
    body_hash = request_hash({"party_id": party_id, "amount_fen": amount_fen})
    prior = uow.requests.payout(key)
    cash = account_id(party_id, AccountKind.CASH)
    if prior is not None:
        same_request(prior.request_hash, body_hash, key)
        after = prior.balance_after_fen
        return PayoutResult(prior.id, party_id, prior.amount_fen,
                            uow.ledger.balance(cash, Asset.CNY) if after is None else after,
                            replayed=True)
    kind = uow.parties.kind(party_id)
    if kind is None:
        raise NotFound(f"party {party_id} does not exist")
    if kind in ("platform", "consumer"):
        raise InvalidInput(f"a {kind} has no withdrawable cash balance")
    uow.ledger.lock_cash(cash)  # so that two withdrawals cannot both pass the check
    if uow.parties.is_frozen(party_id):
        raise PartyFrozen(f"party {party_id} is frozen for review: it cannot withdraw until an "
                          "administrator unfreezes it (its earnings keep accruing)")
    period = uow.periods.open_period()
    policy = uow.policies.version(period.policy_version_id)
    position = position_in(uow.ledger, party_id, period.seq, policy)
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
    payout_id = uow.requests.add_payout(key, body_hash, party_id, amount_fen, period.seq,
                                        cash_now - amount_fen)
    entry = JournalEntry.build(EntryKind.PAYOUT, [
        (cash, Asset.CNY, -amount_fen),
        (system_account(AccountKind.CASH_OUT), Asset.CNY, amount_fen)], f"payout {payout_id}")
    assert entry is not None
    uow.ledger.post(entry, period.seq, payout_id)
    uow.periods.add_counters(period.seq, {"payouts_fen": amount_fen})
    uow.record(PayoutMade(period=period.seq, payout_id=payout_id, party_id=party_id,
                          amount_fen=amount_fen, balance_after_fen=cash_now - amount_fen))
    uow.audit("payout.made", f"party:{party_id}", {"payout_id": payout_id,
                                                   "amount_fen": amount_fen})
    return PayoutResult(payout_id, party_id, amount_fen, cash_now - amount_fen)
