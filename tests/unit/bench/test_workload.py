"""The benchmark's bank traffic is what the bank would send, and every transaction earns."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest

from contracts.registry import TOPICS
from shared.bench.workload import (
    CARD_TOPIC,
    DEBIT_ORDER_TOPIC,
    REDEEMER_EVERY,
    TRANSACTION_TOPICS,
    BankTraffic,
    Message,
    Workload,
    customer_created,
    customer_no,
    redemption_request,
    redemption_vendor_ids,
    simulated_partner_originators,
)

SENT_AT = datetime(2026, 11, 20, 8, 15, 30, 123_000, tzinfo=UTC).isoformat(timespec="milliseconds")
TODAY = date(2026, 11, 20)


PARTNERS = simulated_partner_originators()


def _traffic(n: int = 3_000, **kwargs: int) -> tuple[Workload, list[Message]]:
    workload = Workload(run="abc123", transactions=n, originators=PARTNERS, **kwargs)
    return workload, BankTraffic(workload).chunk(0, n, SENT_AT, TODAY)


def test_every_message_is_valid_under_its_topics_contract_and_keyed_by_customer() -> None:
    _, messages = _traffic()
    for message in messages:
        model = TOPICS[message.topic].latest
        parsed = model.model_validate_json(message.value)
        assert message.key == parsed.customer_no.encode()  # type: ignore[attr-defined]


def test_the_mix_has_card_statement_lines_and_executed_debit_orders() -> None:
    _, messages = _traffic()
    by_topic = {t: sum(1 for m in messages if m.topic == t) for t in TRANSACTION_TOPICS}
    assert by_topic[CARD_TOPIC] > by_topic[DEBIT_ORDER_TOPIC] > 0
    assert all(n > 0 for n in by_topic.values())
    lines = [orjson.loads(m.value) for m in messages if m.topic == "esb.account.transaction.v1"]
    assert {line["channel"] for line in lines} == {"eft"}
    orders = [orjson.loads(m.value) for m in messages if m.topic == DEBIT_ORDER_TOPIC]
    assert {o["user_code"] for o in orders} == {code for code, _ in PARTNERS}


def test_without_partners_collecting_debit_orders_the_bank_sends_card_spend_instead() -> None:
    workload = Workload(run="abc123", transactions=2_000)
    messages = BankTraffic(workload).chunk(0, 2_000, SENT_AT, TODAY)
    assert {m.topic for m in messages} == {CARD_TOPIC, "esb.account.transaction.v1"}


def test_every_transaction_qualifies_for_points() -> None:
    """Card spend from R10, EFT payments from R100, paid debit orders of partners."""
    _, messages = _traffic()
    for message in messages:
        body = orjson.loads(message.value)
        assert body["amount_cents"] >= 1_000
        if message.topic == CARD_TOPIC:
            assert (body["status"], body["kind"]) == ("posted", "purchase")
            assert body["posted_at"] is not None
        elif message.topic == DEBIT_ORDER_TOPIC:
            assert body["status"] == "00"
            assert body["original_sequence_no"] is None
        else:
            assert (body["direction"], body["kind"], body["channel"]) == ("debit", "payment", "eft")
            assert body["amount_cents"] >= 10_000


def test_descriptors_are_the_vendors_statement_lines() -> None:
    _, messages = _traffic()
    cards = [orjson.loads(m.value) for m in messages if m.topic == CARD_TOPIC]
    descriptors = {c["descriptor"] for c in cards}
    assert len(descriptors) > 50
    assert any(d.startswith(("WOOLWORTHS", "WW FOOD", "WOOLIES")) for d in descriptors)
    assert 0.4 < sum(1 for c in cards if c["merchant_id"]) / len(cards) < 0.8


def test_transactions_are_unique_and_their_postings_lead_back_to_them() -> None:
    workload, messages = _traffic()
    ids = [orjson.loads(m.value)["transaction_id"] for m in messages]
    assert len(set(ids)) == len(ids)
    assert all(len(i) <= 40 for i in ids)
    for index, tx in enumerate(ids):
        assert workload.index_of(f"earn:card:{tx}:points") == index
    assert workload.index_of("earn:card:Bzzz999T000000001:points") is None
    assert workload.index_of("reverse:card:" + ids[0] + ":posted:points") is None


def test_customers_are_spread_and_redeemers_earn_steadily() -> None:
    workload, messages = _traffic(10_000, customers=5_000, redeemers=100)
    customers = [orjson.loads(m.value)["customer_no"] for m in messages]
    assert len(set(customers)) > 3_000
    assert all(len(c) == 12 for c in customers)
    redeemers = {customer_no(k) for k in range(workload.redeemers)}
    every_tenth = [messages[i] for i in range(0, len(messages), REDEEMER_EVERY)]
    assert {customers[i] for i in range(0, len(customers), REDEEMER_EVERY)} == redeemers
    # Only card spend: no monthly cap on EFTs or debit orders keeps a redeemer from earning.
    assert {m.topic for m in every_tenth} == {CARD_TOPIC}


def test_the_same_seed_gives_the_same_traffic() -> None:
    _, first = _traffic(500)
    _, second = _traffic(500)
    assert first == second


def test_chunks_continue_where_the_last_one_ended() -> None:
    workload = Workload(run="abc123", transactions=1_000)
    traffic = BankTraffic(workload)
    ids = [
        orjson.loads(m.value)["transaction_id"]
        for start in range(0, 1_000, 300)
        for m in traffic.chunk(start, min(1_000, start + 300), SENT_AT, TODAY)
    ]
    assert ids == [workload.transaction_id(i) for i in range(1_000)]


def test_redeemers_are_registered_members_and_redemptions_are_valid_requests() -> None:
    workload = Workload(run="abc123", transactions=10, redeemers=5)
    created = customer_created(workload, 3, SENT_AT)
    profile = TOPICS[created.topic].latest.model_validate_json(created.value)
    assert profile.loyalty_member is True  # type: ignore[attr-defined]
    assert created.key == customer_no(3).encode()
    vendor = redemption_vendor_ids()[0]
    request = redemption_request(workload, 7, k=3, points=4, vendor_id=vendor, sent_at=SENT_AT)
    parsed = TOPICS[request.topic].latest.model_validate_json(request.value)
    assert (parsed.action, parsed.points, parsed.vendor_id) == ("redeem", 4, vendor)  # type: ignore[attr-defined]
    assert parsed.request_id == workload.request_id(7)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("run", "customers", "redeemers"),
    [("no-dash", 10, 1), ("x" * 13, 10, 1), ("ok", 0, 0), ("ok", 10, 11)],
)
def test_a_workload_refuses_what_it_cannot_tell_apart(
    run: str, customers: int, redeemers: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        Workload(run=run, transactions=1, customers=customers, redeemers=redeemers)
