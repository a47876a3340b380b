"""Use cases: recognise the vendor of every bank transaction and pass it on, enriched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from contracts.esb import AccountTransaction, CardTransaction, DebitOrderExecuted
from contracts.loyalty import (
    MatchReviewDecided,
    MatchReviewRequested,
    ReviewCandidate,
    TransactionEnriched,
)
from services.vendor_matching import repository
from services.vendor_matching.domain import MatchQuery, MatchResult
from services.vendor_matching.engine import learning_key
from services.vendor_matching.learning import (
    ClosedReview,
    ReviewDecision,
    first_decision_per_review,
    lessons,
)
from services.vendor_matching.master import EngineCache
from services.vendor_matching.repository import ClosedRow, MatchRow
from shared.messaging.uow import Inbound, UnitOfWork

CARD_TOPIC = "esb.card.transaction.v1"
ACCOUNT_TOPIC = "esb.account.transaction.v1"
DEBIT_ORDER_TOPIC = "esb.debit-order.executed.v1"
ENRICHED_TOPIC = "loyalty.transaction.enriched.v1"
REVIEW_REQUESTED_TOPIC = "loyalty.match.review-requested.v1"
REVIEW_DECIDED_TOPIC = "loyalty.match.review-decided.v1"

DEBIT_ORDER_STATUS = {"00": "posted", "RV": "reversed"}


def card_fields(tx: CardTransaction) -> tuple[MatchQuery, dict[str, Any]]:
    query = MatchQuery(
        merchant_id=tx.merchant_id, descriptor=tx.descriptor, mcc=tx.mcc, channel="card"
    )
    return query, {
        "message_id": f"enriched:card:{tx.message_id}",
        "source": "card",
        "source_message_id": tx.message_id,
        "transaction_id": tx.transaction_id,
        "status": tx.status,
        "kind": tx.kind,
        "original_transaction_id": tx.original_transaction_id,
        "customer_no": tx.customer_no,
        "account_no": None,
        "amount_cents": tx.amount_cents,
        "currency": tx.currency,
        "transaction_at": tx.transaction_at,
        "descriptor": tx.descriptor,
        "mcc": tx.mcc,
        "channel": "card",
        "direction": "credit" if tx.kind == "refund" else "debit",
    }


def account_fields(tx: AccountTransaction) -> tuple[MatchQuery, dict[str, Any]]:
    query = MatchQuery(descriptor=tx.descriptor, channel=tx.channel)
    return query, {
        "message_id": f"enriched:account:{tx.message_id}",
        "source": "account",
        "source_message_id": tx.message_id,
        "transaction_id": tx.transaction_id,
        "status": "posted",
        "kind": tx.kind,
        "original_transaction_id": tx.original_transaction_id,
        "customer_no": tx.customer_no,
        "account_no": tx.account_no,
        "amount_cents": tx.amount_cents,
        "currency": tx.currency,
        "transaction_at": tx.transaction_at,
        "descriptor": tx.descriptor,
        "mcc": None,
        "channel": tx.channel,
        "direction": tx.direction,
    }


def debit_order_fields(order: DebitOrderExecuted) -> tuple[MatchQuery, dict[str, Any]]:
    reversal = order.status == "RV"
    original = (
        f"DO-{order.original_run_date:%Y%m%d}-{order.original_sequence_no}"
        if reversal and order.original_run_date and order.original_sequence_no is not None
        else None
    )
    query = MatchQuery(
        user_code=order.user_code, descriptor=order.user_short_name, channel="debit_order"
    )
    return query, {
        "message_id": f"enriched:debit-order:{order.message_id}",
        "source": "debit_order",
        "source_message_id": order.message_id,
        "transaction_id": order.transaction_id,
        "status": DEBIT_ORDER_STATUS.get(order.status, "unpaid"),
        "kind": "reversal" if reversal else "payment",
        "original_transaction_id": original,
        "customer_no": order.customer_no,
        "account_no": order.account_no,
        "amount_cents": order.amount_cents,
        "currency": order.currency,
        "transaction_at": datetime.combine(order.action_date, datetime.min.time(), UTC),
        "descriptor": f"DEBIT ORDER {order.user_short_name} {order.user_reference}"[:40],
        "mcc": None,
        "channel": "debit_order",
        "direction": "credit" if reversal else "debit",
    }


def vendor_fields(result: MatchResult, names: dict[str, tuple[str, str, bool]]) -> dict[str, Any]:
    vendor = names.get(result.vendor_id) if result.vendor_id else None
    return {
        "vendor_id": result.vendor_id if vendor else None,
        "vendor_name": vendor[0] if vendor else None,
        "vendor_category": vendor[1] if vendor else None,
        "partner": vendor[2] if vendor else False,
        "match_method": result.method,
        "match_confidence": result.confidence,
    }


@dataclass
class Enricher:
    """Holds the matching engine of the current vendor master for this process."""

    engines: EngineCache = field(default_factory=EngineCache)

    async def card(self, uow: UnitOfWork, batch: Sequence[Inbound[CardTransaction]]) -> None:
        await self._enrich(uow, [card_fields(i.message) for i in batch])

    async def account(self, uow: UnitOfWork, batch: Sequence[Inbound[AccountTransaction]]) -> None:
        await self._enrich(uow, [account_fields(i.message) for i in batch])

    async def debit_order(
        self, uow: UnitOfWork, batch: Sequence[Inbound[DebitOrderExecuted]]
    ) -> None:
        await self._enrich(uow, [debit_order_fields(i.message) for i in batch])

    async def _enrich(
        self, uow: UnitOfWork, items: list[tuple[MatchQuery, dict[str, Any]]]
    ) -> None:
        engine = await self.engines.current(uow.conn)
        vendors = engine.vendors
        names = {v.vendor_id: (v.name, v.category, v.partner) for v in vendors.values()}
        results = engine.match_many(query for query, _ in items)
        now = datetime.now(UTC)
        matches: list[MatchRow] = []
        reviews: list[tuple[MatchReviewRequested, str]] = []
        for (query, fields), result in zip(items, results, strict=True):
            enriched = TransactionEnriched(sent_at=now, **fields, **vendor_fields(result, names))
            uow.publish(ENRICHED_TOPIC, enriched.customer_no, enriched)
            if result.needs_review:
                reviews.append((review_request(enriched, result, now), learning_key(query)))
            matches.append(
                MatchRow(
                    enriched.source,
                    enriched.transaction_id,
                    enriched.status,
                    enriched.customer_no,
                    enriched.descriptor,
                    enriched.vendor_id,
                    enriched.match_method,
                    enriched.match_confidence,
                )
            )
        await repository.record_matches(uow.conn, matches)
        await repository.open_reviews(uow.conn, reviews)
        for review, _ in reviews:
            uow.publish(REVIEW_REQUESTED_TOPIC, review.customer_no, review)


def review_request(
    enriched: TransactionEnriched, result: MatchResult, now: datetime
) -> MatchReviewRequested:
    review_id = f"review:{enriched.source}:{enriched.transaction_id}:{enriched.status}"
    return MatchReviewRequested(
        message_id=review_id,
        sent_at=now,
        review_id=review_id,
        customer_no=enriched.customer_no,
        source=enriched.source,
        transaction_id=enriched.transaction_id,
        descriptor=enriched.descriptor,
        candidates=[ReviewCandidate(vendor_id=c.vendor_id, confidence=c.confidence)
                    for c in result.candidates],
    )  # fmt: skip


async def record_review_decisions(
    uow: UnitOfWork, batch: Sequence[Inbound[MatchReviewDecided]]
) -> None:
    """A reviewer's decision from the review topic: see decide_reviews."""
    decisions = [
        ReviewDecision(m.review_id, m.decision, m.vendor_id, m.actor)
        for m in (inbound.message for inbound in batch)
    ]
    await decide_reviews(uow, decisions)


async def decide_reviews(
    uow: UnitOfWork, decisions: Sequence[ReviewDecision]
) -> list[ClosedReview]:
    """Close the open reviews answered and learn from them: a confirmation makes the
    descriptor an exact alias of its vendor, a rejection stops that vendor for it.

    Returns the reviews closed now; a decision on a closed or unknown review changes
    nothing. Each lesson records the review and who decided; closing a review and
    replacing or withdrawing a lesson are audited (UPDATE and DELETE).
    """
    closed = await repository.close_reviews(uow.conn, first_decision_per_review(decisions))
    reviews = [_keyed(row) for row in closed]
    confirmed, rejected = lessons(reviews)
    await repository.remember(uow.conn, confirmed, rejected)
    return reviews


# The query channel each source's descriptor was matched with (see *_fields above).
_SOURCE_CHANNEL = {"card": "card", "account": "account", "debit_order": "debit_order"}


def _keyed(row: ClosedRow) -> ClosedReview:
    """The review with its learning key; reviews queued before the key was stored
    get it from their descriptor."""
    if row.descriptor_norm is not None:
        return row.review
    query = MatchQuery(descriptor=row.descriptor, channel=_SOURCE_CHANNEL.get(row.source))
    return replace(row.review, descriptor_norm=learning_key(query))
