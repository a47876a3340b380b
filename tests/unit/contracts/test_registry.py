"""The topic registry: who writes and reads each topic, keys, partitions, versions."""

from __future__ import annotations

import importlib

import pytest

from contracts.common import BankMessage, OwnMessage
from contracts.registry import (
    EXTERNAL_PARTIES,
    SERVICES,
    TOPICS,
    all_topic_names,
    descriptor,
    model_for,
    topics_consumed_by,
    topics_produced_by,
)
from contracts.vendor_gateway import RedemptionRequested
from shared import settings

# Who reads what, as the design says (ARCHITECTURE.md and the contracts brief).
CONSUMERS = {
    "esb.card.transaction.v1": {"vendor_matching"},
    "esb.account.transaction.v1": {"vendor_matching"},
    "esb.debit-order.executed.v1": {"vendor_matching"},
    "esb.customer.updated.v1": {"customer_profile"},
    "loyalty.transaction.enriched.v1": {"accrual", "customer_profile"},
    "loyalty.points.posted.v1": {"redemption", "customer_profile"},
    "loyalty.points.pending.v1": {"customer_profile"},
    "loyalty.points.adjustment-requested.v1": {"accrual"},
    "loyalty.redemption.requested.v1": {"redemption"},
    "loyalty.redemption.decided.v1": {"customer_profile", "vendor_gateway"},
    "loyalty.wallet.balance-changed.v1": {"customer_profile"},
    "loyalty.cashback.payout-requested.v1": {"debit_orders"},
    "loyalty.customer.profile-changed.v1": {"accrual", "redemption", "debit_orders"},
    "loyalty.vendor.changed.v1": {"redemption", "customer_profile"},
    "loyalty.match.review-requested.v1": {"customer_profile"},  # the console's queue
    "loyalty.match.review-decided.v1": {"vendor_matching"},
}


def test_every_topic_and_its_readers() -> None:
    assert {name: set(t.consumers) for name, t in TOPICS.items()} == CONSUMERS


def test_every_topic_has_exactly_one_producer_we_know() -> None:
    for topic in TOPICS.values():
        assert len(topic.producers) == 1, topic.name
        assert set(topic.producers) <= set(SERVICES) | set(EXTERNAL_PARTIES)


def test_the_bank_and_the_gateways_write_the_topics_whose_shape_they_give() -> None:
    for topic in TOPICS.values():
        external = topic.producers[0] in EXTERNAL_PARTIES and topic.producers[0] != "console"
        assert issubclass(topic.latest, BankMessage if external else OwnMessage), topic.name


def test_customer_topics_are_co_partitioned_and_keyed_by_customer() -> None:
    customer_topics = [t for t in TOPICS.values() if t.key == "customer_no"]
    assert {t.partitions for t in customer_topics} == {8}
    assert [t.name for t in TOPICS.values() if t.key != "customer_no"] == [
        "loyalty.vendor.changed.v1"
    ]
    for topic in TOPICS.values():
        assert topic.key in topic.latest.model_fields, topic.name


def test_names_versions_and_compatibility() -> None:
    for name, topic in TOPICS.items():
        assert topic.name == name
        assert name.endswith(".v1")
        assert topic.versions == {1: topic.latest}
        assert topic.latest_version == 1
        assert topic.compatibility == "BACKWARD"
        assert topic.dlq == f"{name}.dlq"


def test_the_services_are_the_platforms() -> None:
    assert SERVICES == settings.SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_subscribes_to_what_the_registry_says(service: str) -> None:
    definition = importlib.import_module(f"services.{service}.app").definition()
    subscribed = sorted(s.topic for s in definition.subscriptions)
    assert subscribed == sorted(topics_consumed_by(service))


def test_helpers() -> None:
    assert descriptor("loyalty.redemption.requested.v1").key == "customer_no"
    assert model_for("loyalty.redemption.requested.v1") is RedemptionRequested
    assert model_for("loyalty.redemption.requested.v1", 1) is RedemptionRequested
    assert topics_produced_by("redemption") == [
        "loyalty.redemption.decided.v1",
        "loyalty.wallet.balance-changed.v1",
        "loyalty.cashback.payout-requested.v1",
    ]
    assert topics_consumed_by("debit_orders") == [
        "loyalty.cashback.payout-requested.v1",
        "loyalty.customer.profile-changed.v1",
    ]
    assert topics_produced_by("vendor_gateway") == ["loyalty.redemption.requested.v1"]
    names = all_topic_names()
    assert len(names) == 2 * len(TOPICS)
    assert "loyalty.points.posted.v1.dlq" in names
    assert names == sorted(names)
    assert all_topic_names(include_dlq=False) == sorted(TOPICS)


def test_unknown_topics_and_versions_are_named_in_the_error() -> None:
    with pytest.raises(KeyError, match=r"esb\.card\.transaction\.v9"):
        descriptor("esb.card.transaction.v9")
    with pytest.raises(KeyError, match="no schema version 2"):
        model_for("esb.card.transaction.v1", 2)


def test_a_descriptor_must_be_consistent() -> None:
    from contracts.registry import TopicDescriptor

    card = TOPICS["esb.card.transaction.v1"]
    with pytest.raises(ValueError, match="not <domain>"):
        TopicDescriptor("cards", "x", card.versions, card.producers, card.consumers)
    with pytest.raises(ValueError, match="key 'vendor_id'"):
        TopicDescriptor(
            card.name, "x", card.versions, card.producers, card.consumers, key="vendor_id"
        )
    with pytest.raises(ValueError, match="unknown producers"):
        TopicDescriptor(card.name, "x", card.versions, ("mainframe",), card.consumers)
