"""The simulated bank sends valid, ordered, realistic messages at the configured rates."""

from __future__ import annotations

from collections import Counter

import pytest

from contracts.esb import AccountTransaction, CardTransaction, CustomerUpdated
from contracts.registry import model_for
from contracts.vendor_gateway import RedemptionRequested
from shared.simulator.state import SimConfig
from shared.simulator.vendors import BY_ID, redemption_vendors, vendor_rows
from tests.unit.simulator.world import simulate


def test_every_message_is_valid_for_its_topic_and_keyed_by_its_customer(day):
    events, _state = day
    for event in events:
        wire = event.message.model_dump_json()
        parsed = model_for(event.topic).model_validate_json(wire)
        assert parsed == event.message
        assert event.key == event.message.customer_no  # type: ignore[attr-defined]


def test_the_same_seed_gives_the_same_messages():
    first, _ = simulate(seed=11, events=2_000)
    again, _ = simulate(seed=11, events=2_000)
    other, _ = simulate(seed=12, events=2_000)
    wire = [e.message.model_dump_json() for e in first]
    assert wire == [e.message.model_dump_json() for e in again]
    assert wire != [e.message.model_dump_json() for e in other]


def test_a_customers_cif_record_comes_before_anything_else_about_them(day):
    events, state = day
    announced: set[str] = set()
    seen: set[str] = set()
    for event in events:
        message = event.message
        if isinstance(message, CustomerUpdated) and message.change == "created":
            assert event.key not in announced or message.message_id in seen, "created once"
            announced.add(event.key)
        else:
            assert event.key in announced
        seen.add(message.message_id)  # type: ignore[attr-defined]
    assert announced == state.announced


def test_message_ids_are_unique_except_redeliveries_which_repeat_the_payload(day):
    events, state = day
    first_payload: dict[str, str] = {}
    redeliveries = 0
    for event in events:
        wire = event.message.model_dump_json()
        message_id = event.message.message_id  # type: ignore[attr-defined]
        if message_id in first_payload:
            assert first_payload[message_id] == wire
            redeliveries += 1
        first_payload[message_id] = wire
    assert redeliveries == state.stats["duplicate"]
    assert 0.005 < redeliveries / len(events) < 0.02  # the default rate is 1%


@pytest.mark.parametrize("rate", [0.0, 0.1])
def test_the_duplicate_rate_is_configurable(rate):
    events, _ = simulate(seed=5, events=5_000, config=SimConfig(duplicate_rate=rate))
    ids = Counter(e.message.message_id for e in events)  # type: ignore[attr-defined]
    repeated = sum(n - 1 for n in ids.values())
    assert abs(repeated / len(events) - rate) < 0.02


def test_the_mix_of_topics_follows_the_configuration(day):
    events, _ = day
    topics = Counter(e.topic for e in events)
    share = {topic: n / len(events) for topic, n in topics.items()}
    assert 0.5 < share["esb.card.transaction.v1"] < 0.62
    assert 0.22 < share["esb.account.transaction.v1"] < 0.32
    assert 0.09 < share["loyalty.redemption.requested.v1"] < 0.16
    assert share["esb.customer.updated.v1"] > 0.02  # every customer's record, and changes


def test_authorizations_are_later_posted_or_reversed_with_the_same_transaction(day):
    events, _ = day
    cards = [e.message for e in events if isinstance(e.message, CardTransaction)]
    authorized = {c.transaction_id: c for c in cards if c.status == "authorized"}
    settled = [c for c in cards if c.status != "authorized" and c.transaction_id in authorized]
    assert len(settled) > len(authorized) / 2
    for card in settled:
        auth = authorized[card.transaction_id]
        assert (card.amount_cents, card.customer_no, card.descriptor) == (
            auth.amount_cents, auth.customer_no, auth.descriptor,
        )  # fmt: skip
        assert (card.posted_at is not None) == (card.status == "posted")
    statuses = Counter(c.status for c in settled)
    assert statuses["posted"] > 5 * statuses["reversed"] > 0


def test_refunds_refer_to_an_earlier_posted_purchase_for_at_most_its_amount(day):
    events, _ = day
    posted: dict[str, CardTransaction] = {}
    refunds = 0
    for event in events:
        card = event.message
        if not isinstance(card, CardTransaction):
            continue
        if card.kind == "refund":
            refunds += 1
            original = posted[card.original_transaction_id or ""]
            assert card.amount_cents <= original.amount_cents
            assert card.customer_no == original.customer_no
        elif card.status == "posted":
            posted[card.transaction_id] = card
    assert refunds > 50


def test_card_transactions_happen_at_real_vendors_with_their_merchant_ids(day):
    events, _ = day
    cards = [e.message for e in events if isinstance(e.message, CardTransaction)]
    known = {mid for row in vendor_rows() for mid in row["merchant_ids"].split("|") if mid}
    with_mid = [c for c in cards if c.merchant_id]
    assert 0.5 < len(with_mid) / len(cards) < 0.7  # absent for many transactions
    assert sum(c.merchant_id in known for c in with_mid) / len(with_mid) > 0.9
    assert all(c.currency == "ZAR" and c.amount_cents > 0 for c in cards)
    descriptors = " ".join(c.descriptor for c in cards)
    for brand in ("WOOLWORTHS", "PICK N PAY", "CHECKERS", "ENGEN", "SHELL", "TAKEALOT",
                  "DIS-CHEM", "CLICKS", "NANDOS", "VODACOM"):  # fmt: skip
        assert brand in descriptors


def test_statement_lines_include_debit_orders_efts_fees_and_reversals(day):
    events, _ = day
    lines = [e.message for e in events if isinstance(e.message, AccountTransaction)]
    channels = Counter(line.channel for line in lines)
    assert {"debit_order", "eft", "fee", "transfer", "atm"} <= set(channels)
    debit_orders = {line.transaction_id: line for line in lines if line.kind == "payment"}
    reversals = [line for line in lines if line.kind == "reversal"]
    assert reversals
    for reversal in reversals:
        original = debit_orders[reversal.original_transaction_id or ""]
        assert original.channel == "debit_order"
        assert reversal.direction == "credit"
        assert reversal.amount_cents == original.amount_cents
    assert any(line.descriptor.startswith("DEBIT ORDER VIRGIN ACT ") for line in lines)


def test_redemptions_are_mostly_redeems_at_vendors_that_accept_them(day):
    events, _ = day
    requests = [e.message for e in events if isinstance(e.message, RedemptionRequested)]
    actions = Counter(r.action for r in requests)
    assert actions.most_common(1)[0][0] == "redeem"
    assert {"authorize", "capture", "void"} <= set(actions)
    accepting = {v.vendor_id for v in redemption_vendors()}
    assert all(r.vendor_id in accepting and BY_ID[r.vendor_id].listed for r in requests)
    holds = {r.request_id: r for r in requests if r.action == "authorize"}
    for settle in (r for r in requests if r.action in {"capture", "void"}):
        hold = holds[settle.request_id]
        assert (settle.vendor_id, settle.customer_no) == (hold.vendor_id, hold.customer_no)
        assert settle.points is None or settle.points <= (hold.points or 0)


def test_redemption_requests_come_mostly_from_programme_members(day):
    events, state = day
    members = {c.customer_no for c in state.customers if c.member}
    requests = [
        e.message
        for e in events
        if isinstance(e.message, RedemptionRequested)
        and e.message.action in {"redeem", "authorize"}
    ]
    assert sum(r.customer_no in members for r in requests) / len(requests) > 0.85
