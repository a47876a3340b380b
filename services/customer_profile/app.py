"""The customer_profile service: who is this customer, and what have they done?"""

from services.customer_profile import handlers, scheduler
from shared.messaging.uow import Subscription
from shared.runtime import ServiceDefinition

NAME = "customer_profile"


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        subscriptions=(
            Subscription(handlers.CUSTOMER_TOPIC, handlers.update_customers),
            Subscription(handlers.ENRICHED_TOPIC, handlers.record_transactions),
            Subscription(handlers.POSTED_TOPIC, handlers.record_postings),
            Subscription(handlers.PENDING_TOPIC, handlers.record_pending),
            Subscription(handlers.BALANCE_TOPIC, handlers.record_balances),
            Subscription(handlers.DECIDED_TOPIC, handlers.record_decisions),
            Subscription(handlers.VENDOR_TOPIC, handlers.update_vendors),
        ),
        workers=(scheduler.review_tiers_daily,),
    )
