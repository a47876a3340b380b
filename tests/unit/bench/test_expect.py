"""The expected points come from the programme in force, rated by accrual's own engine."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson

from services.accrual.programmes import default_document
from services.accrual.rules.loader import compile_programme, load_text
from services.accrual.rules.model import Programme
from shared.bench.bank import rfc3339
from shared.bench.expect import (
    FLAT_PROGRAMME,
    activity_of_message,
    expect,
    regenerate,
    unpredictable,
)
from shared.bench.workload import (
    DEBIT_ORDER_TOPIC,
    TRANSACTION_TOPICS,
    BankTraffic,
    Workload,
    simulated_partner_originators,
)

TODAY = date(2026, 11, 20)
MOMENT = datetime(2026, 11, 20, 8, 15, tzinfo=UTC).timestamp()


def _flat() -> Programme:
    return compile_programme(load_text(FLAT_PROGRAMME.read_text(), str(FLAT_PROGRAMME)))


def _workload(n: int = 2_000) -> Workload:
    return Workload(run="abc123", transactions=n, originators=simulated_partner_originators())


def test_under_the_flat_rule_every_transaction_earns_a_point_per_r10_in_both_currencies() -> None:
    workload = _workload()
    messages = BankTraffic(workload).chunk(0, 2_000, rfc3339(MOMENT), TODAY)
    assert {m.topic for m in messages} == set(TRANSACTION_TOPICS)
    found = expect(_flat(), messages)
    assert found.exact, found.reasons
    want = sum(orjson.loads(m.value)["amount_cents"] // 1_000 for m in messages)
    assert found.by_currency() == {
        "points": {"postings": 2_000, "points": want},
        "tier_points": {"postings": 2_000, "points": want},
    }
    assert found.as_dict()["transactions"] == 2_000


def test_debit_orders_are_rated_as_partner_payments_on_their_action_date() -> None:
    workload = _workload()
    messages = BankTraffic(workload).chunk(0, 500, rfc3339(MOMENT), TODAY)
    order = next(m for m in messages if m.topic == DEBIT_ORDER_TOPIC)
    activity = activity_of_message(order)
    assert (activity.source, activity.kind, activity.direction) == (
        "debit_order", "payment", "debit",
    )  # fmt: skip
    assert activity.partner
    assert activity.transaction_at == datetime(2026, 11, 20, tzinfo=UTC)


def test_a_programme_rated_differently_changes_the_expectation() -> None:
    workload = _workload(300)
    messages = BankTraffic(workload).chunk(0, 300, rfc3339(MOMENT), TODAY)
    doubled = FLAT_PROGRAMME.read_text().replace("rate: {points: 1,", "rate: {points: 2,")
    double = expect(compile_programme(load_text(doubled)), messages).points
    want = sum(orjson.loads(m.value)["amount_cents"] * 2 // 1_000 for m in messages)
    assert double == {"points": want, "tier_points": want}
    assert double != expect(_flat(), messages).points


def test_caps_and_vendor_conditions_make_the_expectation_inexact() -> None:
    reasons = unpredictable(compile_programme(default_document()))
    assert any("period cap" in r for r in reasons)
    assert any("matched vendor" in r for r in reasons)
    assert unpredictable(_flat()) == []


def test_regenerated_traffic_is_what_the_bank_sent_byte_for_byte() -> None:
    workload = _workload(1_000)
    bank = BankTraffic(workload)
    starts, times, sent = [], [], []
    for k, start in enumerate(range(0, 1_000, 300)):
        moment = MOMENT + k * 0.37
        starts.append(start)
        times.append(moment)
        sent += bank.chunk(start, min(1_000, start + 300), rfc3339(moment), TODAY)
    assert list(regenerate(workload, starts, times, TODAY, 1_000)) == sent
    # A bank stopped after two chunks: only what it sent.
    assert list(regenerate(workload, starts[:2], times[:2], TODAY, 600)) == sent[:600]
