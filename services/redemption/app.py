"""The redemption service: the wallet ledger and the vendor gateways' decisions."""

from datetime import timedelta
from functools import partial

from services.redemption import handlers
from services.redemption.decisions import DECIDED_TOPIC, Decider, redeliver_decisions
from services.redemption.domain import parse_negative_policy
from services.redemption.expiry import run_expiry
from shared.messaging.uow import Subscription
from shared.runtime import ServiceDefinition
from shared.settings import service_settings

NAME = "redemption"


def definition() -> ServiceDefinition:
    settings = service_settings(NAME)
    decider = Decider(hold_lapse=timedelta(seconds=settings.hold_lapse_seconds))
    postings = partial(
        handlers.apply_postings, policies=parse_negative_policy(settings.negative_policy)
    )
    return ServiceDefinition(
        name=NAME,
        subscriptions=(
            Subscription(handlers.POSTED_TOPIC, postings),
            # The gateways' requests in a lane of their own: a decision never waits behind a
            # batch of postings (both lock the accounts they change, in sorted order), nor
            # behind the relay's round: decisions are published as soon as they commit.
            Subscription(
                handlers.REQUESTED_TOPIC,
                decider.decide_batch,
                on_duplicate=redeliver_decisions,
                lane="gateway",
                publish_at_once=(DECIDED_TOPIC,),
            ),
            Subscription(handlers.PROFILE_TOPIC, handlers.record_profiles),
            Subscription(handlers.VENDOR_TOPIC, handlers.record_vendors),
        ),
        workers=(run_expiry,),
    )
