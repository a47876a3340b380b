"""The simulated bank and vendor gateways: one step without I/O, `next_event(rng, state)`.

Each step returns the next message the bank's systems or a vendor gateway would send, already
validated against its contract model: a customer's CIF record before anything else about them,
card authorizations later posted or reversed, refunds of earlier purchases, statement lines
(debit orders, EFTs, fees, transfers), redemption requests, and now and then a redelivery of
an earlier message (same id, same payload), as the bank's ESB does.
"""

from __future__ import annotations

import random
from typing import Literal

from contracts.esb import CustomerAccount, CustomerUpdated
from shared.simulator.cards import card_event
from shared.simulator.people import Customer
from shared.simulator.redemptions import redemption_event
from shared.simulator.state import CUSTOMER_TOPIC, SimEvent, SimState, weighted
from shared.simulator.statements import account_event


def customer_updated(
    state: SimState, customer: Customer, change: Literal["created", "updated"]
) -> SimEvent:
    now = state.clock()
    message = CustomerUpdated(
        message_id=state.next_id("CIF"),
        sent_at=now,
        customer_no=customer.customer_no,
        change=change,
        first_name=customer.first_name,
        last_name=customer.last_name,
        preferred_language=customer.language,
        segment=customer.segment,
        loyalty_member=customer.member,
        accounts=[CustomerAccount(account_no=a.account_no, type=a.type) for a in customer.accounts],
        changed_at=now,
    )
    return SimEvent(CUSTOMER_TOPIC, customer.customer_no, message)


def _customer_change(rng: random.Random, state: SimState, customer: Customer) -> SimEvent:
    """A CIF update: mostly fields we do not see (address, phone), sometimes ones we do."""
    roll = rng.random()
    if not customer.member and roll < 0.5:
        customer.member = True  # joins the programme
        state.members.append(customer)
    elif roll < 0.1:
        customer.language = "af" if customer.language == "en" else "en"
    elif roll < 0.2:
        customer.segment = rng.choice(("retail", "premier", "private"))
    return customer_updated(state, customer, "updated")


def next_event(rng: random.Random, state: SimState) -> SimEvent:
    """The next message to publish; mutates state (and only state) to remember what it sent."""
    if state.recent and rng.random() < state.config.duplicate_rate:
        state.stats["duplicate"] += 1
        return rng.choice(state.recent)
    kind = weighted(rng, state.config.mix)
    members_only = kind == "redemption" and rng.random() < state.config.member_redemptions
    customer = rng.choice(state.members if members_only else state.customers)
    if customer.customer_no not in state.announced:
        # The CIF record comes first; what the customer was about to do waits for a later step.
        state.announced.add(customer.customer_no)
        event = customer_updated(state, customer, "created")
        state.stats["customer.created"] += 1
    elif kind == "redemption":
        event = redemption_event(rng, state, customer)
    elif kind == "customer":
        event = _customer_change(rng, state, customer)
        state.stats["customer.updated"] += 1
    elif kind == "card":
        event = card_event(rng, state, customer)
    else:
        event = account_event(rng, state, customer)
    state.recent.append(event)
    return event
