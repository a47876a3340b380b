"""Vendor gateways' redemption requests: redeem mostly; holds captured or voided; cancels."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Final, Literal

from contracts.vendor_gateway import RedemptionRequested
from shared.simulator.people import Customer
from shared.simulator.state import REDEMPTION_TOPIC, Hold, Reward, SimEvent, SimState, weighted
from shared.simulator.vendors import redemption_vendors

Action = Literal["redeem", "authorize", "capture", "void", "cancel"]
REWARDS: Final[tuple[tuple[Reward, float], ...]] = (
    ("voucher", 0.5),
    ("in_store", 0.35),
    ("cash_back", 0.15),
)
VOUCHER_POINTS: Final = (50, 100, 100, 200, 250, 500, 500, 1_000, 2_000)


def redemption_event(rng: random.Random, state: SimState, customer: Customer) -> SimEvent:
    """A new redeem or authorize, or a capture, void or cancel of an earlier request."""
    now = state.clock()
    roll = rng.random()
    if state.holds and roll < 0.25:
        hold = state.holds.popleft()
        capture = rng.random() < 0.65
        points = None
        if capture and rng.random() < 0.4:
            points = max(1, hold.points * rng.randint(50, 100) // 100)
        action: Action = "capture" if capture else "void"
        return _redemption(state, hold, action, points, now)
    if state.redeemed and 0.25 <= roll < 0.28:
        hold = state.redeemed.popleft()
        return _redemption(state, hold, "cancel", None, now)
    vendor = rng.choice(redemption_vendors())
    points = rng.choice(VOUCHER_POINTS) if rng.random() < 0.8 else rng.randint(10, 3_000)
    reward = weighted(rng, REWARDS)
    hold = Hold(vendor.vendor_id, customer.customer_no, state.next_id("POS-"), points, reward)
    if rng.random() < 0.12:
        state.holds.append(hold)
        return _redemption(state, hold, "authorize", points, now)
    state.redeemed.append(hold)
    return _redemption(state, hold, "redeem", points, now)


def _redemption(
    state: SimState,
    hold: Hold,
    action: Action,
    points: int | None,
    now: datetime,
) -> SimEvent:
    # capture, void and cancel carry the vendor's reference of the redemption they settle.
    message = RedemptionRequested(
        message_id=state.next_id("VGW"),
        sent_at=now,
        request_id=hold.request_id,
        action=action,
        vendor_id=hold.vendor_id,
        customer_no=hold.customer_no,
        points=points,
        reward=hold.reward,
        requested_at=now,
    )
    state.stats[f"redemption.{action}"] += 1
    return SimEvent(REDEMPTION_TOPIC, hold.customer_no, message)
