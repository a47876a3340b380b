"""The customer_profile service: who is this customer, and what have they done?"""

from services.customer_profile import handlers, scheduler
from services.customer_profile.console import reviews
from services.customer_profile.console.web import api_with_console
from services.customer_profile.miners import MINERS
from services.customer_profile.miners.runner import run_miners, with_miners
from shared.messaging.uow import Subscription
from shared.runtime import ServiceDefinition

NAME = "customer_profile"


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        # The miners that ride the lane are applied by its handlers of their topics.
        subscriptions=with_miners(SUBSCRIPTIONS, MINERS),
        workers=(scheduler.review_tiers_daily, run_miners),  # run_miners: the reports' miners
        http_app=api_with_console,  # the query API and the call-centre console's pages
    )


SUBSCRIPTIONS = (
    Subscription(handlers.CUSTOMER_TOPIC, handlers.update_customers),
    Subscription(handlers.ENRICHED_TOPIC, handlers.record_transactions),
    Subscription(handlers.POSTED_TOPIC, handlers.record_postings),
    Subscription(handlers.PENDING_TOPIC, handlers.record_pending),
    Subscription(handlers.BALANCE_TOPIC, handlers.record_balances),
    Subscription(handlers.DECIDED_TOPIC, handlers.record_decisions),
    Subscription(handlers.VENDOR_TOPIC, handlers.update_vendors),
    Subscription(reviews.REQUESTED_TOPIC, reviews.queue_reviews),  # the console's queue
)
