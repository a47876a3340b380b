"""Use cases of the wallet: credit and reverse postings, decide redemptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from contracts.loyalty import (
    BalanceChanged,
    CashbackPayoutRequested,
    PointsPosted,
    ProfileChanged,
    VendorChanged,
)
from contracts.vendor_gateway import RedemptionDecided, RedemptionRequested
from services.redemption import repository
from services.redemption.domain import (
    CASHBACK_CENTS_PER_POINT,
    SPENDABLE,
    InsufficientPointsError,
    allocate_fifo,
    reason_text,
    take_back,
)
from services.redemption.repository import Account, Customer
from shared.messaging.uow import Inbound, UnitOfWork

POSTED_TOPIC = "loyalty.points.posted.v1"
REQUESTED_TOPIC = "loyalty.redemption.requested.v1"
DECIDED_TOPIC = "loyalty.redemption.decided.v1"
BALANCE_TOPIC = "loyalty.wallet.balance-changed.v1"
PROFILE_TOPIC = "loyalty.customer.profile-changed.v1"
VENDOR_TOPIC = "loyalty.vendor.changed.v1"
PAYOUT_TOPIC = "loyalty.cashback.payout-requested.v1"

ISSUED = "programme:issued:{currency}"
REDEEMED = "programme:redeemed:{currency}"


def customer_account(customer_no: str, currency: str) -> str:
    return f"customer:{customer_no}:{currency}"


def _balance_changed(
    posting_or_ref: str, customer_no: str, currency: str, *, change: int, account: Account,
    cause: str, now: datetime,
) -> BalanceChanged:  # fmt: skip
    return BalanceChanged(
        message_id=f"balance:{cause}:{posting_or_ref}",
        sent_at=now,
        customer_no=customer_no,
        currency=currency,  # type: ignore[arg-type]
        change=change,
        balance=account.balance,
        held=account.held,
        cause=cause,  # type: ignore[arg-type]
        reference=posting_or_ref,
        occurred_at=now,
    )


async def apply_postings(uow: UnitOfWork, batch: Sequence[Inbound[PointsPosted]]) -> None:
    """Credit lots and reverse earlier ones; each posting once (journal reference)."""
    postings = [i.message for i in batch]
    accounts = await repository.lock_accounts(
        uow.conn, ((p.customer_no, p.currency) for p in postings)
    )
    fresh = await repository.claim_journal(
        uow.conn, "posting", [(p.posting_id, p.customer_no, p.currency) for p in postings]
    )
    now = datetime.now(UTC)
    entries: list[tuple[int, str, int]] = []
    new_lots: list[tuple[str, str, str, int, Any]] = []
    for posting in postings:
        txn_id = fresh.pop(posting.posting_id, None)
        if txn_id is None:
            continue  # applied before (or twice in this batch)
        key = (posting.customer_no, posting.currency)
        entries += [
            (txn_id, customer_account(*key), posting.points),
            (txn_id, ISSUED.format(currency=posting.currency), -posting.points),
        ]
        if posting.points > 0:
            new_lots.append((*key, posting.posting_id, posting.points, posting.expires_at))
        else:
            await _take_from_lots(uow, posting, -posting.points)
        accounts[key].balance += posting.points
        cause = "earn" if posting.kind in {"earn", "confirmation"} else posting.kind
        uow.publish(
            BALANCE_TOPIC,
            posting.customer_no,
            _balance_changed(
                posting.posting_id,
                *key,
                change=posting.points,
                account=accounts[key],
                cause=cause,
                now=now,
            ),
        )
    await repository.create_lots(uow.conn, new_lots)
    await repository.write_entries(uow.conn, entries)
    await repository.save_balances(uow.conn, accounts)


async def _take_from_lots(uow: UnitOfWork, posting: PointsPosted, points: int) -> None:
    """A reversal empties the original lot first, then the others; the rest is a debt."""
    lots = await repository.lock_lots(uow.conn, posting.customer_no, posting.currency)
    original = await repository.lot_of_posting(uow.conn, posting.reverses_posting_id)
    await repository.consume_lots(uow.conn, take_back(lots, points, original))


async def decide_redemptions(
    uow: UnitOfWork, batch: Sequence[Inbound[RedemptionRequested]]
) -> None:
    """One decision per request; a repeated request gets the original decision again."""
    requests = [i.message for i in batch]
    earlier = await repository.decisions_by_request(
        uow.conn, ((r.vendor_id, r.request_id, r.action) for r in requests)
    )
    known = await repository.customers(uow.conn, (r.customer_no for r in requests))
    vendors = await repository.vendors_accepting(uow.conn, (r.vendor_id for r in requests))
    accounts = await repository.lock_accounts(
        uow.conn, ((r.customer_no, SPENDABLE) for r in requests)
    )
    now = datetime.now(UTC)
    for request in requests:
        key = (request.vendor_id, request.request_id, request.action)
        if key in earlier:
            _republish(uow, earlier[key], request.message_id, now)
            continue
        decision = await _decide(
            uow, request, customer=known.get(request.customer_no), vendors=vendors,
            accounts=accounts, now=now,
        )  # fmt: skip
        earlier[key] = decision.model_dump(mode="json")
    await repository.save_balances(uow.conn, accounts)


async def _decide(
    uow: UnitOfWork, request: RedemptionRequested, *, customer: Customer | None,
    vendors: dict[str, bool], accounts: dict[tuple[str, str], Account], now: datetime,
) -> RedemptionDecided:  # fmt: skip
    account = accounts[(request.customer_no, SPENDABLE)]
    language = customer.preferred_language if customer else "en"
    reason = _decline_reason(request, customer, vendors, account)
    taken: list[tuple[int, int]] = []
    if reason is None:
        lots = await repository.lock_lots(uow.conn, request.customer_no, SPENDABLE)
        try:
            taken = allocate_fifo(lots, request.points or 0, now.date())
        except InsufficientPointsError:
            reason = "insufficient_points"
    points = request.points or 0 if reason is None else 0
    if reason is None:
        account.balance -= points
    text_, text_language = reason_text(reason, language) if reason else (None, language)
    decision = RedemptionDecided(
        message_id=f"decided:{request.message_id}",
        sent_at=now,
        request_id=request.request_id,
        vendor_id=request.vendor_id,
        customer_no=request.customer_no,
        action=request.action,
        outcome="declined" if reason else "approved",
        points=points,
        balance_after=account.spendable,
        reason_code=reason,
        reason_text=text_,
        language=text_language,
        decided_at=now,
    )
    redemption_id = await repository.record_redemption(
        uow.conn,
        {
            "vendor_id": request.vendor_id,
            "request_id": request.request_id,
            "action": request.action,
            "message_id": request.message_id,
            "customer_no": request.customer_no,
            "points": points,
            "outcome": decision.outcome,
            "reason_code": reason,
            "decision": decision.model_dump_json(),
            "decided_at": now,
        },
    )
    uow.publish(DECIDED_TOPIC, request.customer_no, decision)
    if taken and request.reward == "cash_back" and customer and customer.cashback_account_no:
        narrative, narrative_language = reason_text("cashback_narrative", language)
        uow.publish(
            PAYOUT_TOPIC,
            request.customer_no,
            CashbackPayoutRequested(
                message_id=f"payout:{redemption_id}",
                sent_at=now,
                payout_id=f"PO-{redemption_id:012d}",
                customer_no=request.customer_no,
                account_no=customer.cashback_account_no,
                amount_cents=points * CASHBACK_CENTS_PER_POINT,
                currency="ZAR",
                points=points,
                reference=f"LYPO{redemption_id:012d}",
                narrative=narrative[:30],
                language=narrative_language,
                requested_at=now,
            ),
        )
    if taken:
        await repository.consume_lots(uow.conn, taken)
        await repository.record_allocations(uow.conn, redemption_id, taken)
        txn = await repository.claim_journal(
            uow.conn, "redemption", [(str(redemption_id), request.customer_no, SPENDABLE)]
        )
        txn_id = txn[str(redemption_id)]
        await repository.write_entries(
            uow.conn,
            [
                (txn_id, customer_account(request.customer_no, SPENDABLE), -points),
                (txn_id, REDEEMED.format(currency=SPENDABLE), points),
            ],
        )
        uow.publish(
            BALANCE_TOPIC,
            request.customer_no,
            _balance_changed(
                f"{request.vendor_id}:{request.request_id}", request.customer_no, SPENDABLE,
                change=-points, account=account, cause="redemption", now=now,
            ),
        )  # fmt: skip
    return decision


def _decline_reason(
    request: RedemptionRequested, customer: Customer | None, vendors: dict[str, bool],
    account: Account,
) -> str | None:  # fmt: skip
    """The first rule the request breaks, in the order a call-centre agent would explain."""
    if customer is None:
        return "unknown_customer"
    rules = (
        (not customer.loyalty_member or customer.status == "closed", "not_a_member"),
        (not vendors.get(request.vendor_id, True), "vendor_not_accepted"),
        # holds, captures and cancels come with the wallet issue
        (request.action != "redeem", "action_not_supported"),
        (request.reward == "cash_back" and not customer.cashback_account_no, "no_cashback_account"),
        ((request.points or 0) > account.spendable, "insufficient_points"),
    )
    return next((reason for broken, reason in rules if broken), None)


def _republish(uow: UnitOfWork, original: dict[str, Any], message_id: str, now: datetime) -> None:
    """The original decision again, as a new message (the gateway may have missed it)."""
    decision = RedemptionDecided.model_validate(
        {**original, "message_id": f"decided-again:{message_id}:{now.timestamp()}", "sent_at": now}
    )
    uow.publish(DECIDED_TOPIC, decision.customer_no, decision)


async def redeliver_decisions(
    uow: UnitOfWork, batch: Sequence[Inbound[RedemptionRequested]]
) -> None:
    """A repeated message id: publish the decision it got, never decide again."""
    stored = await repository.decisions_by_message(uow.conn, (i.message.message_id for i in batch))
    now = datetime.now(UTC)
    for item in batch:
        original = stored.get(item.message.message_id)
        if original is not None:
            _republish(uow, original, item.message.message_id, now)


async def record_profiles(uow: UnitOfWork, batch: Sequence[Inbound[ProfileChanged]]) -> None:
    latest: dict[str, ProfileChanged] = {}
    for item in batch:
        p = item.message
        if p.customer_no not in latest or latest[p.customer_no].profile_version < p.profile_version:
            latest[p.customer_no] = p
    await repository.upsert_customers(
        uow.conn,
        [
            (p.customer_no, p.preferred_language, p.loyalty_member, p.status,
             p.cashback_account_no, p.profile_version)
            for p in latest.values()
        ],
    )  # fmt: skip


async def record_vendors(uow: UnitOfWork, batch: Sequence[Inbound[VendorChanged]]) -> None:
    latest: dict[str, VendorChanged] = {}
    for item in batch:
        v = item.message
        if v.vendor_id not in latest or latest[v.vendor_id].changed_at <= v.changed_at:
            latest[v.vendor_id] = v
    await repository.upsert_vendors(
        uow.conn,
        [(v.vendor_id, v.accepts_redemptions, v.active, v.changed_at) for v in latest.values()],
    )
