"""Every error the engine raises on purpose. Entry points map them to problem+json and exit codes.

::

    GongshengError                      base; ``title`` is a short, stable name
    ├── InvalidInput            (422)   malformed or out-of-range input; nothing was changed
    │   ├── PolicyError                 a policy file or rule that cannot be applied
    │   ├── InfeasibleSplit             the waterfall parts would exceed the concession
    │   └── InsufficientBalance         spending more than a balance holds (vouchers, cash, points)
    ├── NotFound                (404)   an unknown party, order, period, ...
    ├── Conflict                (409)   the request clashes with the state of the books
    │   ├── IdempotencyConflict         an idempotency key reused with another body
    │   ├── AlreadyHeld                 a region already held by a partner, a name already taken
    │   │   └── CodeTaken               a code drawn at random (a referral code) is taken: draw again
    │   ├── PeriodClosed                writing into a period that is closed
    │   ├── PartyFrozen                 the party is frozen (abuse review): it may not sell,
    │   │                               spend vouchers or withdraw until unfrozen
    │   ├── RetryTransaction            what the transaction read changed (a close, a deadlock,
    │   │                               a serialisation failure): run it again
    │   ├── DuplicateRequest            a concurrent request with the same idempotency key
    │   │                               committed first: run again, and it replays that one
    │   ├── VelocityCapExceeded         an order over the policy's velocity cap ([risk])
    │   └── CaseTransitionRefused       a case moved to a status its own does not lead to
    ├── Unauthorized            (401)   no or bad credentials
    ├── Forbidden               (403)   not yours
    │   └── PayCodeRefused              an order's pay code does not allow its voucher part
    └── InvariantViolation      (500)   the books break an invariant (``verify`` reports these),
                                        or a value that must hold one (an unbalanced split) was built

Every write is atomic: when one of these is raised inside a unit of work, nothing is committed.
Storage errors are translated into these once, in the adapters (``adapters/storage_errors.py``);
``Platform.run`` retries a use case on :class:`RetryTransaction` and :class:`DuplicateRequest`.
"""

from __future__ import annotations


class GongshengError(Exception):
    """Base of the engine's errors: ``str(err)`` is a sentence a person understands."""

    title = "Error"
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(GongshengError):
    title = "Invalid input"
    status = 422


class PolicyError(InvalidInput):
    title = "Invalid policy"


class InfeasibleSplit(PolicyError):
    title = "Infeasible concession split"


class InsufficientBalance(InvalidInput):
    title = "Insufficient balance"


class NotFound(GongshengError):
    title = "Not found"
    status = 404


class Conflict(GongshengError):
    title = "Conflict"
    status = 409


class IdempotencyConflict(Conflict):
    title = "Idempotency key reused with a different request"


class AlreadyHeld(Conflict):
    title = "Already held"


class CodeTaken(AlreadyHeld):
    """A code drawn at random (a consumer's referral code) is another's already: the use case
    draws another."""

    title = "Code taken"


class PeriodClosed(Conflict):
    title = "Period closed"


class PartyFrozen(Conflict):
    """The party is frozen for review: its orders, voucher spends or withdrawals are refused
    until an administrator unfreezes it; what it earns keeps accruing meanwhile."""

    title = "Party frozen"


class RetryTransaction(Conflict):
    """What the transaction read changed before it could act on it: roll back and run it again.

    ``Platform.run`` retries; if it keeps happening the caller gets this conflict (409), whose
    detail says what changed, and may retry later.
    """

    title = "Changed while read"


class DuplicateRequest(Conflict):
    """Another request with the same idempotency key committed while this one ran.

    Running the use case again replays the first result (same body) or reports an
    :class:`IdempotencyConflict` (another body).
    """

    title = "Concurrent request with the same key"


class WriteRefused(Conflict):
    """The database refused a write for a reason no other error names (a concurrent writer
    took a row the write needed meanwhile): nothing of that write stays, and the use case may
    write its parts one at a time instead (``services.batch``)."""

    title = "Write refused"


class VelocityCapExceeded(Conflict):
    """The order would take its consumer over a velocity cap of the policy's ``[risk]`` (orders
    per period, or per period at one merchant); nothing was written."""

    title = "Velocity cap exceeded"


class CaseTransitionRefused(Conflict):
    """An abuse case cannot go from its status to the one asked (``domain.cases``)."""

    title = "Case transition refused"


class Unauthorized(GongshengError):
    title = "Unauthorized"
    status = 401


class Forbidden(GongshengError):
    title = "Forbidden"
    status = 403


class InvariantViolation(GongshengError):
    title = "Invariant violated"
    status = 500


class PayCodeRefused(Forbidden):
    """An order's pay code does not authorise its voucher part.

    One detail for every case (unknown, expired, used, another consumer's or merchant's, a
    smaller limit), so that a refusal never tells which codes exist.
    """

    title = "Pay code refused"

    def __init__(self, detail: str = (
            "the pay code does not allow this sale (it may be unknown, expired, already used, or "
            "issued for another consumer, another merchant or a smaller voucher part); ask the "
            "consumer for a new one")) -> None:
        super().__init__(detail)
