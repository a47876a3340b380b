"""The vendor_matching service: which vendor is this bank transaction with?"""

from services.vendor_matching.handlers import (
    ACCOUNT_TOPIC,
    CARD_TOPIC,
    DEBIT_ORDER_TOPIC,
    REVIEW_DECIDED_TOPIC,
    Enricher,
    record_review_decisions,
)
from shared.messaging.uow import Subscription
from shared.runtime import ServiceDefinition

NAME = "vendor_matching"


def definition() -> ServiceDefinition:
    enricher = Enricher()
    return ServiceDefinition(
        name=NAME,
        subscriptions=(
            Subscription(CARD_TOPIC, enricher.card),
            Subscription(ACCOUNT_TOPIC, enricher.account),
            Subscription(DEBIT_ORDER_TOPIC, enricher.debit_order),
            Subscription(REVIEW_DECIDED_TOPIC, record_review_decisions),
        ),
    )
