"""The vendor_matching service: which vendor is this bank transaction with?"""

from services.vendor_matching import handlers
from shared.messaging.uow import Subscription
from shared.runtime import ServiceDefinition

NAME = "vendor_matching"


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        subscriptions=(
            Subscription(handlers.CARD_TOPIC, handlers.enrich_card_transactions),
            Subscription(handlers.ACCOUNT_TOPIC, handlers.enrich_account_transactions),
            Subscription(handlers.DEBIT_ORDER_TOPIC, handlers.enrich_debit_orders),
        ),
    )
