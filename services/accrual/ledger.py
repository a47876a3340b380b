"""What one batch of transactions does to the accrual records, decided in memory.

The handler loads a snapshot (customer classes, transactions seen, earnings of the originals,
open pending points, held reversals, cap usage), runs every transaction through `Ledger` in
the order received, and writes what it decided set-based. Nothing here does I/O, so the
rules of earning, confirming, reversing and holding are tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from services.accrual.rules.evaluate import Evaluation, evaluate, expires_at
from services.accrual.rules.model import CURRENCIES, Activity, CustomerClass, Programme
from services.accrual.rules.rating import CapKey, Rating, consume
from services.accrual.rules.reversals import proportional_reversal

TxKey = tuple[str, str]  # (source, transaction_id)
SeenKey = tuple[str, str, str]  # (source, transaction_id, status)
CurrencyKey = tuple[str, str, str]  # (source, transaction_id, currency)


@dataclass(frozen=True, slots=True)
class Member:
    """A customer's class and whether they earn (a member whose account is open)."""

    customer: CustomerClass
    earns: bool = True


@dataclass(frozen=True, slots=True)
class Earning:
    """One points posting of an earning or a reversal, as stored and published."""

    posting_id: str
    source: str
    source_transaction_id: str
    status: str
    customer_no: str
    currency: str
    points: int
    amount_cents: int
    rule_id: str
    rule_version: int
    reverses_posting_id: str | None
    expires_at: date | None
    transaction_at: datetime
    kind: str = "earn"  # earn | confirmation | reversal (the posting's kind, not stored)
    reason: str | None = None  # published with the posting, not stored
    agreement_id: str | None = None
    rule_points: int = 0
    bonus_points: int = 0
    promotion_id: str | None = None
    programme_version: int | None = None


@dataclass(slots=True)
class Original:
    """What a transaction earned in one currency, adjustments and reversals included."""

    posting_id: str
    customer_no: str
    amount_cents: int
    earned: int
    reversed: int
    rule_id: str
    rule_version: int
    rule_points: int = 0
    bonus_points: int = 0


@dataclass(slots=True)
class Pending:
    source: str
    transaction_id: str
    currency: str
    customer_no: str
    points: int
    rule_id: str
    rule_version: int
    transaction_at: datetime
    state: str = "pending"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PendingChange:
    pending: Pending
    state: str  # created | confirmed | cancelled


@dataclass(frozen=True, slots=True)
class Hold:
    activity: Activity
    reason: str


@dataclass(frozen=True, slots=True)
class Resolution:
    key: SeenKey  # the held refund or reversal
    state: str  # applied | nothing_earned


def seen_key(activity: Activity) -> SeenKey:
    return (activity.source, activity.transaction_id, activity.status)


def is_reversal(activity: Activity) -> bool:
    return activity.status == "reversed" or activity.kind in {"refund", "reversal"}


def reversal_target(activity: Activity) -> str | None:
    """The transaction a refund or reversal takes back (a reversed purchase: itself)."""
    if activity.kind in {"purchase", "payment"}:
        return activity.transaction_id
    if voided_refund(activity):
        return None
    return activity.original_transaction_id


def voided_refund(activity: Activity) -> bool:
    """A refund reversed before it was applied: it took nothing, so it gives nothing back."""
    return activity.kind == "refund" and activity.status == "reversed"


def takes_back_whole(activity: Activity) -> bool:
    """Reversed transactions and reversals take everything back; refunds their share."""
    return activity.kind != "refund"


def _earn_reason(evaluation: Evaluation, rating: Rating) -> str:
    reason = f"{evaluation.dispatch.event} under agreement {evaluation.agreement_id}"
    if rating.promotion_id:
        reason += f", promotion {rating.promotion_id} (+{rating.bonus_points})"
    return reason


@dataclass
class Ledger:
    """The snapshot a batch starts from, and what it decides."""

    programme: Programme
    members: dict[str, Member] = field(default_factory=dict)
    seen: set[SeenKey] = field(default_factory=set)
    originals: dict[CurrencyKey, Original] = field(default_factory=dict)
    pending: dict[CurrencyKey, Pending] = field(default_factory=dict)
    held: dict[TxKey, list[Activity]] = field(default_factory=dict)
    usage: dict[CapKey, int] = field(default_factory=dict)
    # decisions
    earnings: list[Earning] = field(default_factory=list)
    pending_changes: list[PendingChange] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)

    def apply(self, activities: Iterable[Activity]) -> None:
        """Each transaction in the order received (one customer's are in order)."""
        for activity in activities:
            self.apply_one(activity)

    def apply_one(self, activity: Activity) -> None:
        """One transaction; one already seen (a redelivery) changes nothing."""
        key = seen_key(activity)
        if key in self.seen:
            return
        self.seen.add(key)
        if is_reversal(activity):
            if not self._reverse(activity):
                self._hold(activity)
        elif activity.kind in {"purchase", "payment"} and activity.direction == "debit":
            if activity.status == "authorized":
                self._authorize(activity)
            elif activity.status == "posted":
                self._earn(activity)

    def member(self, customer_no: str) -> Member:
        return self.members.get(customer_no) or Member(self.programme.default_class)

    def evaluate(self, activity: Activity) -> Evaluation | None:
        member = self.member(activity.customer_no)
        if not member.earns:
            return None
        return evaluate(self.programme, member.customer, activity, self.usage)

    # --- earning ------------------------------------------------------------------------

    def _earn(self, activity: Activity) -> None:
        evaluation = self.evaluate(activity)
        ratings = evaluation.ratings if evaluation else {}
        for currency in CURRENCIES:
            rating = ratings.get(currency)
            key = (activity.source, activity.transaction_id, currency)
            pending = self.pending.get(key)
            waiting = pending is not None and pending.state == "pending"
            if rating is not None and rating.points > 0 and evaluation is not None:
                self._credit(activity, evaluation, rating, confirming=waiting)
            if pending is not None and waiting:
                earned = rating is not None and rating.points > 0
                self._change(pending, "confirmed" if earned else "cancelled",
                             "posted" if earned else "nothing earned when posted")  # fmt: skip
        self._release_held(activity)

    def _credit(
        self, activity: Activity, evaluation: Evaluation, rating: Rating, *, confirming: bool
    ) -> None:
        currency = rating.rule.currency
        earning = Earning(
            posting_id=f"earn:{activity.source}:{activity.transaction_id}:{currency}",
            source=activity.source,
            source_transaction_id=activity.transaction_id,
            status=activity.status,
            customer_no=activity.customer_no,
            currency=currency,
            points=rating.points,
            amount_cents=activity.amount_cents,
            rule_id=rating.rule.id,
            rule_version=rating.rule.version,
            reverses_posting_id=None,
            expires_at=expires_at(self.programme, currency, activity.transaction_at),
            transaction_at=activity.transaction_at,
            kind="confirmation" if confirming else "earn",
            reason=_earn_reason(evaluation, rating),
            agreement_id=evaluation.agreement_id,
            rule_points=rating.rule_points,
            bonus_points=rating.bonus_points,
            promotion_id=rating.promotion_id,
            programme_version=self.programme.version,
        )
        self.earnings.append(earning)
        consume(self.usage, rating)
        self.originals[(activity.source, activity.transaction_id, currency)] = Original(
            earning.posting_id, activity.customer_no, activity.amount_cents, rating.points, 0,
            rating.rule.id, rating.rule.version, rating.rule_points, rating.bonus_points,
        )  # fmt: skip

    # --- potential points ---------------------------------------------------------------

    def _authorize(self, activity: Activity) -> None:
        source, tx = activity.source, activity.transaction_id
        if (source, tx, "posted") in self.seen:
            return  # the authorization arrived after its posting: nothing is potential any more
        if self._release_held(activity, whole_only=True):
            return  # its reversal came first: nothing to be pending
        evaluation = self.evaluate(activity)
        for currency, rating in (evaluation.ratings if evaluation else {}).items():
            key = (source, tx, currency)
            if rating.points <= 0 or key in self.pending:
                continue
            pending = Pending(
                source, tx, currency, activity.customer_no, rating.points,
                rating.rule.id, rating.rule.version, activity.transaction_at,
            )  # fmt: skip
            self.pending[key] = pending
            self.pending_changes.append(PendingChange(pending, "created"))

    def _change(self, pending: Pending, state: str, reason: str) -> None:
        pending.state, pending.reason = state, reason
        self.pending_changes.append(PendingChange(pending, state))

    # --- reversals ----------------------------------------------------------------------

    def _reverse(self, activity: Activity) -> bool:
        """Apply a refund or reversal; False when its original is unknown (hold it)."""
        target = reversal_target(activity)
        if target is None:
            return voided_refund(activity)
        source = activity.source
        found = [
            (currency, self.originals[(source, target, currency)])
            for currency in CURRENCIES
            if (source, target, currency) in self.originals
        ]
        for currency, original in found:
            self._take_back(activity, currency, original)
        if found:
            return True
        if target == activity.transaction_id and self._cancel_pending(source, target):
            return True
        return (source, target, "posted") in self.seen or (
            activity.status == "reversed" and (source, target, "authorized") in self.seen
        )

    def _take_back(self, activity: Activity, currency: str, original: Original) -> None:
        whole = takes_back_whole(activity)
        refunded = original.amount_cents if whole else activity.amount_cents
        points = proportional_reversal(
            original.earned, original.reversed, original.amount_cents, refunded
        )
        if points <= 0:
            return
        original.reversed += points
        self.earnings.append(
            Earning(
                posting_id=(
                    f"reverse:{activity.source}:{activity.transaction_id}:{activity.status}:"
                    f"{currency}"
                ),
                source=activity.source,
                source_transaction_id=activity.transaction_id,
                status=activity.status,
                customer_no=activity.customer_no,
                currency=currency,
                points=-points,
                amount_cents=min(refunded, original.amount_cents),
                rule_id=original.rule_id,
                rule_version=original.rule_version,
                reverses_posting_id=original.posting_id,
                expires_at=None,
                transaction_at=activity.transaction_at,
                kind="reversal",
                reason=(
                    f"{'reversal' if whole else 'refund'} of {activity.source} transaction "
                    f"{reversal_target(activity)}"
                ),
                programme_version=self.programme.version,
            )
        )

    def _cancel_pending(self, source: str, transaction_id: str) -> bool:
        found = False
        for currency in CURRENCIES:
            pending = self.pending.get((source, transaction_id, currency))
            if pending is not None:
                found = True
                if pending.state == "pending":
                    self._change(pending, "cancelled", "reversed")
        return found

    def _hold(self, activity: Activity) -> None:
        target = reversal_target(activity)
        reason = (
            "no original transaction id"
            if target is None
            else f"original {activity.source} transaction {target} not seen yet"
        )
        self.holds.append(Hold(activity, reason))
        if target is not None:
            self.held.setdefault((activity.source, target), []).append(activity)

    def _release_held(self, original: Activity, *, whole_only: bool = False) -> bool:
        """Apply the refunds and reversals that waited for `original`; True if any did."""
        key = (original.source, original.transaction_id)
        waiting = self.held.get(key, [])
        ready = [a for a in waiting if not whole_only or a.status == "reversed"]
        if not ready:
            return False
        self.held[key] = [a for a in waiting if a not in ready]
        for activity in ready:
            before = len(self.earnings)
            if not whole_only:
                self._reverse(activity)
            state = "applied" if whole_only or len(self.earnings) > before else "nothing_earned"
            self.resolutions.append(Resolution(seen_key(activity), state))
        return True
