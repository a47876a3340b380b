"""Card transactions: authorizations later posted or reversed, postings, and refunds."""

from __future__ import annotations

import random
from datetime import timedelta

from contracts.esb import CardTransaction
from shared.simulator.people import Customer, lognormal_cents
from shared.simulator.state import CARD_TOPIC, CURRENCY, SimEvent, SimState
from shared.simulator.vendors import FORECOURTS, SimVendor, card_vendors


def _card_purchase(rng: random.Random, state: SimState, customer: Customer) -> CardTransaction:
    config, now = state.config, state.clock()
    vendors = card_vendors()
    vendor = rng.choices(vendors, [v.weight for v in vendors])[0]
    descriptor, merchant_id = _card_descriptor(rng, vendor)
    amount = lognormal_cents(rng, vendor.median_cents, vendor.sigma)
    if vendor.branches is FORECOURTS and rng.random() < 0.5:
        amount = max(5_000, round(amount, -4))  # "fill up for R500"
    authorize = rng.random() < config.authorize_first
    transacted = now - timedelta(seconds=rng.randint(0, 120))
    if not authorize and rng.random() < config.late_rate:
        transacted = now - timedelta(days=rng.randint(1, 5), seconds=rng.randint(0, 86_399))
    return CardTransaction(
        message_id=state.next_id("CRD"),
        sent_at=now,
        transaction_id=state.next_id("CT"),
        status="authorized" if authorize else "posted",
        kind="purchase",
        original_transaction_id=None,
        customer_no=customer.customer_no,
        card_ref=rng.choice(customer.card_refs),
        merchant_id=merchant_id if rng.random() < config.merchant_id_present else None,
        mcc=vendor.mcc if rng.random() < 0.9 else None,
        descriptor=descriptor,
        amount_cents=amount,
        currency=CURRENCY,
        transaction_at=transacted,
        posted_at=None if authorize else now,
    )


def _card_descriptor(rng: random.Random, vendor: SimVendor) -> tuple[str, str]:
    mids = vendor.merchant_ids
    online = bool(vendor.online_descriptors) and (not vendor.card_prefixes or rng.random() < 0.2)
    if online:
        index = rng.randrange(len(vendor.online_descriptors))
        offset = len(vendor.branches) if vendor.card_prefixes else 0
        return vendor.online_descriptors[index], mids[offset + index]
    index = rng.randrange(len(vendor.branches))
    branch, city = vendor.branches[index]
    return f"{rng.choice(vendor.card_prefixes)} {branch} {city} ZA"[:40], mids[index]


def _card_settlement(rng: random.Random, state: SimState) -> SimEvent:
    auth = state.pending_auths.popleft()
    now = state.clock()
    reversed_ = rng.random() < state.config.reversal_rate
    message = CardTransaction.model_validate(
        auth.model_dump()
        | {
            "message_id": state.next_id("CRD"),
            "sent_at": now,
            "status": "reversed" if reversed_ else "posted",
            "posted_at": None if reversed_ else now,
        }
    )
    if not reversed_:
        state.purchases.append(message)
    state.stats["card.reversed" if reversed_ else "card.posted"] += 1
    return SimEvent(CARD_TOPIC, message.customer_no, message)


def _card_refund(rng: random.Random, state: SimState) -> SimEvent:
    index = rng.randrange(len(state.purchases))
    original = state.purchases[index]
    del state.purchases[index]  # refunded once
    now = state.clock()
    partial = rng.random() < 0.35
    amount = (
        max(100, original.amount_cents * rng.randint(10, 90) // 100)
        if partial
        else original.amount_cents
    )
    message = CardTransaction(
        message_id=state.next_id("CRD"),
        sent_at=now,
        transaction_id=state.next_id("CR"),
        status="posted",
        kind="refund",
        original_transaction_id=original.transaction_id,
        customer_no=original.customer_no,
        card_ref=original.card_ref,
        merchant_id=original.merchant_id,
        mcc=original.mcc,
        descriptor=original.descriptor,
        amount_cents=amount,
        currency=CURRENCY,
        transaction_at=now - timedelta(seconds=rng.randint(0, 600)),
        posted_at=now,
    )
    state.stats["card.refund"] += 1
    return SimEvent(CARD_TOPIC, message.customer_no, message)


def card_event(rng: random.Random, state: SimState, customer: Customer) -> SimEvent:
    """A purchase (authorized or posted), the settlement of an open authorization, or a refund."""
    config = state.config
    if state.purchases and rng.random() < config.refund_rate:
        return _card_refund(rng, state)
    # Settle more eagerly the more authorizations are open, so that the backlog stays small.
    settle = min(0.9, 0.25 + len(state.pending_auths) / 100)
    if state.pending_auths and rng.random() < settle:
        return _card_settlement(rng, state)
    purchase = _card_purchase(rng, state, customer)
    if purchase.status == "authorized":
        state.pending_auths.append(purchase)
        state.stats["card.authorized"] += 1
    else:
        state.purchases.append(purchase)
        state.stats["card.posted"] += 1
    return SimEvent(CARD_TOPIC, customer.customer_no, purchase)
