"""The debit_orders service: the batch gateway to the bank's mainframe files."""

from services.debit_orders import handlers
from shared.messaging.uow import Subscription
from shared.runtime import ServiceDefinition

NAME = "debit_orders"


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        subscriptions=(
            Subscription(handlers.PAYOUT_TOPIC, handlers.queue_payouts),
            Subscription(handlers.PROFILE_TOPIC, handlers.record_profiles),
        ),
    )
