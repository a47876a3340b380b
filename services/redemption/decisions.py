"""Deciding vendor gateways' requests: redeem, authorize, capture, void, cancel.

Every request gets exactly one decision, recorded (redemptions) and published. The
customer's account row is locked first (sorted across the batch), then holds and lots, the
same order as the lapse and expiry runs, so they never deadlock and never overdraw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts.loyalty import (
    OPEN_LOTS,
    BalanceChanged,
    CashbackPayoutRequested,
    ExpiryBucket,
    LotSummary,
)
from contracts.vendor_gateway import RedemptionDecided, RedemptionRequested
from services.redemption import repository
from services.redemption.domain import (
    CASHBACK_CENTS_PER_POINT,
    DECLINE_REASONS,
    SPENDABLE,
    InsufficientPointsError,
    Lot,
    LotBook,
    allocate_fifo,
    next_expiries,
    open_lots,
    reason_text,
)
from services.redemption.ledger import BREAKAGE, REDEEMED, customer_account
from services.redemption.repository import Account, Allocation, Customer
from shared.messaging.uow import Inbound, UnitOfWork

DECIDED_TOPIC = "loyalty.redemption.decided.v1"
BALANCE_TOPIC = "loyalty.wallet.balance-changed.v1"
PAYOUT_TOPIC = "loyalty.cashback.payout-requested.v1"
HOLD_LAPSE = timedelta(minutes=15)


class Declined(Exception):  # noqa: N818  (a decision, not a failure)
    def __init__(self, reason: str) -> None:
        if reason not in DECLINE_REASONS:
            raise ValueError(f"no such decline reason: {reason}")
        super().__init__(reason)
        self.reason = reason


@dataclass
class Outcome:
    points: int = 0
    taken: list[tuple[int, int]] = field(default_factory=list)
    cause: str | None = None  # the balance movement, if any
    change: int = 0


@dataclass
class Spend:
    """Points an approved redeem or capture took, written with the rest of the batch."""

    key: tuple[str, str, str]
    request: RedemptionRequested
    customer: Customer | None
    points: int
    taken: list[tuple[int, int]]


@dataclass
class Pending:
    """What a decisions batch writes at its end, in one statement (repository.write_decisions)."""

    book: LotBook
    decided: list[dict[str, Any]] = field(default_factory=list)
    spends: list[Spend] = field(default_factory=list)

    async def write(
        self, uow: UnitOfWork, now: datetime,
        accounts: dict[tuple[str, str], Account] | None = None,
    ) -> None:  # fmt: skip
        """Everything decided so far in one statement, with the accounts' balances if given."""
        spent = [spent_by(s) for s in self.spends]
        ids = await repository.write_decisions(
            uow.conn, self.decided, self.book.drain(), spent, currency=SPENDABLE,
            redeemed_account=REDEEMED.format(currency=SPENDABLE), accounts=accounts,
        )  # fmt: skip
        for spend in self.spends:
            customer = spend.customer
            if spend.request.reward == "cash_back" and customer and customer.cashback_account_no:
                uow.publish(PAYOUT_TOPIC, spend.request.customer_no, payout(
                    ids[spend.key], spend.request, customer, spend.points, now
                ))  # fmt: skip
        self.decided.clear()
        self.spends.clear()


def spent_by(spend: Spend) -> repository.Spent:
    customer_no = spend.request.customer_no
    account = customer_account(customer_no, SPENDABLE)
    return repository.Spent(spend.key, customer_no, account, spend.points, spend.taken)


@dataclass
class Decider:
    hold_lapse: timedelta = HOLD_LAPSE

    async def decide_batch(
        self, uow: UnitOfWork, batch: Sequence[Inbound[RedemptionRequested]]
    ) -> None:
        """One decision per request, in order; a repeated request gets the original again.

        Lots are allocated in memory and all writes happen at the end of the batch, except
        around a cancel (it reads the redemptions it undoes, so the earlier ones go first).
        """
        requests = [i.message for i in batch]
        # Unknown customers are declined without opening an account for them: the lookups
        # open (and lock) the accounts of known customers only.
        lookups = await repository.decision_lookups(
            uow.conn,
            ((r.vendor_id, r.request_id, r.action, r.customer_no) for r in requests),
            SPENDABLE,
        )
        earlier, known, vendors = lookups.earlier, lookups.customers, lookups.vendors
        owners = [(r.customer_no, SPENDABLE) for r in requests if r.customer_no in known]
        now = datetime.now(UTC)
        # Spends allocate from these lots; every balance change states the next expiries.
        accounts, book = await repository.decision_accounts_and_lots(uow.conn, owners, now.date())
        pending = Pending(book)
        for request in requests:
            key = (request.vendor_id, request.request_id, request.action)
            if key in earlier:
                republish(uow, earlier[key], request.message_id, now)
                continue
            customer = known.get(request.customer_no)
            account = accounts.get((request.customer_no, SPENDABLE), Account(0, 0))
            if request.action == "cancel":
                await pending.write(uow, now)
            decision = await self._decide(uow, pending, request, customer, vendors, account, now)
            earlier[key] = decision.model_dump(mode="json")
        await pending.write(uow, now, accounts)

    async def _decide(
        self, uow: UnitOfWork, pending: Pending, request: RedemptionRequested,
        customer: Customer | None, vendors: dict[str, bool], account: Account, now: datetime,
    ) -> RedemptionDecided:  # fmt: skip
        try:
            check_customer_and_vendor(request, customer, vendors)
            action = getattr(self, f"_{request.action}")
            outcome: Outcome = await action(uow, pending.book, request, customer, account, now)
            reason = None
        except Declined as declined:
            outcome, reason = Outcome(), declined.reason
        language = customer.preferred_language if customer else "en"
        text_, text_language = reason_text(reason, language) if reason else (None, language)
        decision = RedemptionDecided(
            message_id=f"decided:{request.message_id}",
            sent_at=now,
            request_id=request.request_id,
            vendor_id=request.vendor_id,
            customer_no=request.customer_no,
            action=request.action,
            outcome="declined" if reason else "approved",
            points=outcome.points,
            balance_after=account.spendable,
            reason_code=reason,
            reason_text=text_,
            language=text_language,
            decided_at=now,
        )
        key = (request.vendor_id, request.request_id, request.action)
        pending.decided.append({
            "vendor_id": request.vendor_id, "request_id": request.request_id,
            "action": request.action, "message_id": request.message_id,
            "customer_no": request.customer_no, "points": outcome.points,
            "outcome": decision.outcome, "reason_code": reason,
            "decision": decision.model_dump_json(), "decided_at": now,
        })  # fmt: skip
        uow.publish(DECIDED_TOPIC, request.customer_no, decision)
        if outcome.taken:
            pending.spends.append(Spend(key, request, customer, outcome.points, outcome.taken))
        if outcome.cause is not None:
            lots = pending.book.lots((request.customer_no, SPENDABLE))
            uow.publish(BALANCE_TOPIC, request.customer_no, balance_changed(
                ":".join(key), request.customer_no, outcome.change, account, outcome.cause, now,
                next_expiries=next_expiries(lots, now.date()),
                open_lots=open_lots(lots, now.date(), OPEN_LOTS),
            ))  # fmt: skip
        return decision

    # --- the actions -------------------------------------------------------------------

    async def _redeem(
        self, uow: UnitOfWork, book: LotBook, request: RedemptionRequested,
        customer: Customer | None, account: Account, now: datetime,
    ) -> Outcome:  # fmt: skip
        del uow
        points = _positive(request.points)
        _check_cashback(request, customer)
        if points > account.spendable:
            raise Declined("insufficient_points")
        taken = _allocate(book, request.customer_no, points, now)
        account.balance -= points
        return Outcome(points, taken, "redemption", -points)

    async def _authorize(
        self, uow: UnitOfWork, book: LotBook, request: RedemptionRequested,
        customer: Customer | None, account: Account, now: datetime,
    ) -> Outcome:  # fmt: skip
        del book, customer
        points = _positive(request.points)
        if points > account.spendable:
            raise Declined("insufficient_points")
        created = await repository.open_hold(
            uow.conn, request.vendor_id, request.request_id, request.customer_no, points,
            now + self.hold_lapse,
        )  # fmt: skip
        if not created:
            raise Declined("invalid_request")  # this request id already holds points
        account.held += points
        return Outcome(points, [], "hold", 0)

    async def _capture(
        self, uow: UnitOfWork, book: LotBook, request: RedemptionRequested,
        customer: Customer | None, account: Account, now: datetime,
    ) -> Outcome:  # fmt: skip
        hold = await repository.lock_open_hold(uow.conn, request.vendor_id, request.request_id)
        if hold is None or hold.customer_no != request.customer_no:
            raise Declined("hold_not_found")
        points = hold.points if request.points is None else request.points
        if points > hold.points:
            raise Declined("invalid_request")  # never more than was held
        _check_cashback(request, customer)
        taken = _allocate(book, request.customer_no, points, now)
        await repository.resolve_hold(uow.conn, hold.hold_id, "captured", now)
        account.held -= hold.points
        account.balance -= points
        return Outcome(points, taken, "capture", -points)

    async def _void(
        self, uow: UnitOfWork, book: LotBook, request: RedemptionRequested,
        customer: Customer | None, account: Account, now: datetime,
    ) -> Outcome:  # fmt: skip
        del book, customer
        hold = await repository.lock_open_hold(uow.conn, request.vendor_id, request.request_id)
        if hold is None or hold.customer_no != request.customer_no:
            raise Declined("hold_not_found")
        await repository.resolve_hold(uow.conn, hold.hold_id, "voided", now)
        account.held -= hold.points
        return Outcome(hold.points, [], "void", 0)

    async def _cancel(
        self, uow: UnitOfWork, book: LotBook, request: RedemptionRequested,
        customer: Customer | None, account: Account, now: datetime,
    ) -> Outcome:  # fmt: skip
        """Points go back to the lots they came from; those of expired lots to breakage."""
        del customer
        spent = await repository.approved_spend(uow.conn, request.vendor_id, request.request_id)
        if spent is None or spent.customer_no != request.customer_no:
            raise Declined("redemption_not_found")
        allocations = await repository.lock_allocations(uow.conn, spent.redemption_id)
        today = now.date()
        back = [a for a in allocations if not a.expired(today)]
        lost = sum(a.points for a in allocations if a.expired(today))
        returned = sum(a.points for a in back)
        if not await repository.record_cancellation(
            uow.conn, spent.redemption_id, request.message_id, returned, lost
        ):
            raise Declined("redemption_not_found")  # cancelled before
        # A debt is repaid first, as by any credit: those points do not go back to lots.
        back = after_debt(back, max(0, -account.balance))
        await repository.consume_lots(uow.conn, [(a.lot_id, -a.points) for a in back])
        for a in back:  # later spends of this batch may use them again
            book.returned((request.customer_no, SPENDABLE),
                          Lot(a.lot_id, a.points, a.expires_at, a.starting, a.source))  # fmt: skip
        txn = await repository.claim_journal(
            uow.conn, "cancel", [(str(spent.redemption_id), request.customer_no, SPENDABLE)]
        )
        txn_id = txn[str(spent.redemption_id)]
        entries = [(txn_id, REDEEMED.format(currency=SPENDABLE), -(returned + lost))]
        if returned:
            entries.append((txn_id, customer_account(request.customer_no, SPENDABLE), returned))
        if lost:
            entries.append((txn_id, BREAKAGE.format(currency=SPENDABLE), lost))
        await repository.write_entries(uow.conn, entries)
        account.balance += returned
        return Outcome(returned, [], "cancel", returned)


def after_debt(back: Sequence[Allocation], debt: int) -> list[Allocation]:
    """The points a cancel gives back to lots once they have repaid a debt; the repayment
    takes them as a spend would, the soonest-expiring lot first."""
    left: list[Allocation] = []
    for a in sorted(back, key=lambda a: (a.expires_at is None, a.expires_at or date.max,
                                         a.lot_id)):  # fmt: skip
        repaid = min(debt, a.points)
        debt -= repaid
        if a.points > repaid:
            left.append(replace(a, points=a.points - repaid))
    return left


def check_customer_and_vendor(
    request: RedemptionRequested, customer: Customer | None, vendors: dict[str, bool]
) -> None:
    if customer is None:
        raise Declined("unknown_customer")
    if not customer.loyalty_member or customer.status == "closed":
        raise Declined("not_a_member")
    if not vendors.get(request.vendor_id, False):
        raise Declined("vendor_not_accepted")  # unknown vendors do not accept points either


def _positive(points: int | None) -> int:
    if points is None or points <= 0:
        raise Declined("invalid_request")
    return points


def _check_cashback(request: RedemptionRequested, customer: Customer | None) -> None:
    if request.reward == "cash_back" and not (customer and customer.cashback_account_no):
        raise Declined("no_cashback_account")


def _allocate(book: LotBook, customer_no: str, points: int, now: datetime) -> list[tuple[int, int]]:
    owner = (customer_no, SPENDABLE)
    try:
        taken = allocate_fifo(book.lots(owner), points, now.date())
    except InsufficientPointsError as exc:
        raise Declined("insufficient_points") from exc
    book.take(owner, taken)
    return taken


def payout(
    redemption_id: int, request: RedemptionRequested, customer: Customer, points: int,
    now: datetime,
) -> CashbackPayoutRequested:  # fmt: skip
    narrative, language = reason_text("cashback_narrative", customer.preferred_language)
    return CashbackPayoutRequested(
        message_id=f"payout:{redemption_id}",
        sent_at=now,
        payout_id=f"PO-{redemption_id:012d}",
        customer_no=request.customer_no,
        account_no=customer.cashback_account_no or "",
        amount_cents=points * CASHBACK_CENTS_PER_POINT,
        currency="ZAR",
        points=points,
        reference=f"LYPO{redemption_id:012d}",
        narrative=narrative[:30],
        language=language,
        requested_at=now,
    )


def balance_changed(
    reference: str, customer_no: str, change: int, account: Account, cause: str, now: datetime,
    currency: str = SPENDABLE, next_expiries: Sequence[tuple[date, int]] | None = None,
    open_lots: tuple[Sequence[Lot], int] | None = None,
) -> BalanceChanged:  # fmt: skip
    """The message of a balance movement; `next_expiries` as domain.next_expiries gives them,
    `open_lots` as domain.open_lots does (the lots listed, how many in all)."""
    return BalanceChanged(
        message_id=f"balance:{cause}:{reference}",
        sent_at=now,
        customer_no=customer_no,
        currency=currency,  # type: ignore[arg-type]
        change=change,
        balance=account.balance,
        held=account.held,
        cause=cause,  # type: ignore[arg-type]
        reference=reference,
        occurred_at=now,
        next_expiries=None
        if next_expiries is None
        else [ExpiryBucket(expires_at=day, points=points) for day, points in next_expiries],
        open_lots=None if open_lots is None else [_lot_summary(lot) for lot in open_lots[0]],
        open_lots_total=None if open_lots is None else open_lots[1],
    )


def _lot_summary(lot: Lot) -> LotSummary:
    return LotSummary(
        lot_id=lot.lot_id,
        starting=lot.starting,
        current=lot.remaining,
        expires_at=lot.expires_at,
        source=lot.source,
    )


def republish(uow: UnitOfWork, original: dict[str, Any], message_id: str, now: datetime) -> None:
    """The original decision again, as a new message (the gateway may have missed it)."""
    decision = RedemptionDecided.model_validate(
        {**original, "message_id": f"decided-again:{message_id}:{now.timestamp()}", "sent_at": now}
    )
    uow.publish(DECIDED_TOPIC, decision.customer_no, decision)


async def redeliver_decisions(
    uow: UnitOfWork, batch: Sequence[Inbound[RedemptionRequested]]
) -> None:
    """A repeated message id: publish the decision its request got, never decide again.

    Looked up by request, not by message id: a message that repeated an earlier request was
    answered with that request's decision and has no redemption row of its own."""
    requests = [i.message for i in batch]
    stored = await repository.decisions_by_request(
        uow.conn, ((r.vendor_id, r.request_id, r.action) for r in requests)
    )
    now = datetime.now(UTC)
    for request in requests:
        original = stored.get((request.vendor_id, request.request_id, request.action))
        if original is not None:
            republish(uow, original, request.message_id, now)
