"""The accrual service: how many points does this activity earn?"""

from services.accrual import handlers
from shared.messaging.uow import Subscription
from shared.runtime import ServiceDefinition

NAME = "accrual"


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        subscriptions=(
            Subscription(handlers.ENRICHED_TOPIC, handlers.post_earnings),
            Subscription(handlers.PROFILE_TOPIC, handlers.record_profiles),
            Subscription(handlers.ADJUSTMENT_TOPIC, handlers.post_adjustments),
        ),
    )
