"""The redemption service: the wallet ledger and the vendor gateways' decisions."""

from services.redemption import handlers
from shared.messaging.uow import Subscription
from shared.runtime import ServiceDefinition

NAME = "redemption"


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        subscriptions=(
            Subscription(handlers.POSTED_TOPIC, handlers.apply_postings),
            Subscription(
                handlers.REQUESTED_TOPIC,
                handlers.decide_redemptions,
                on_duplicate=handlers.redeliver_decisions,
            ),
            Subscription(handlers.PROFILE_TOPIC, handlers.record_profiles),
            Subscription(handlers.VENDOR_TOPIC, handlers.record_vendors),
        ),
    )
