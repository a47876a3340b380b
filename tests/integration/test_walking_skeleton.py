"""The walking skeleton: a member's card purchase earns points that can be redeemed."""

from __future__ import annotations

import orjson

from shared.infra.embedded import Endpoints
from tests.support import messages as m
from tests.support.db import eventually, execute, fetch, fetchval
from tests.support.kafka import Bank, json_field, read_topic

pytestmark = [__import__("pytest").mark.integration, __import__("pytest").mark.e2e]

VENDOR = "woolworths-test"
MID = "MIDWOOLIES0001"


async def _register_vendor(url: str) -> None:
    await execute(
        url,
        "INSERT INTO vendor_matching.vendors (vendor_id, name, category, partner, "
        "accepts_redemptions) VALUES ($1, 'Woolworths', 'groceries', true, true) "
        "ON CONFLICT DO NOTHING",
        VENDOR,
    )
    await execute(
        url,
        "INSERT INTO vendor_matching.vendor_merchant_ids VALUES ($1, $2) ON CONFLICT DO NOTHING",
        MID,
        VENDOR,
    )


async def test_purchase_earns_points_that_a_vendor_can_redeem(
    platform, endpoints: Endpoints, pg_admin_url: str
) -> None:
    await _register_vendor(pg_admin_url)
    customer = m.customer_no()
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish("esb.customer.updated.v1", m.customer_created(customer), customer)
        await eventually(
            lambda: fetchval(
                pg_admin_url,
                "SELECT count(*) FROM redemption.customers WHERE customer_no = $1",
                customer,
            ),
            lambda n: n == 1,
        )
        purchase = m.card_posted(customer, 25_050, merchant_id=MID)
        await bank.publish("esb.card.transaction.v1", purchase, customer)

        # R250.50 at 1 point per R10 is 25 points, in the wallet.
        balance = await eventually(
            lambda: fetchval(
                pg_admin_url,
                "SELECT balance FROM redemption.accounts WHERE customer_no = $1 "
                "AND currency = 'points'",
                customer,
            ),
            lambda b: b == 25,
        )
        assert balance == 25

        enriched = await read_topic(
            endpoints.kafka_bootstrap,
            "loyalty.transaction.enriched.v1",
            json_field("transaction_id", purchase["transaction_id"]),
        )
        body = orjson.loads(enriched[0].value)
        assert (body["vendor_id"], body["match_method"]) == (VENDOR, "merchant_id")

        request = m.redeem(customer, 10, vendor_id=VENDOR)
        await bank.publish("loyalty.redemption.requested.v1", request, customer)
        decided = await read_topic(
            endpoints.kafka_bootstrap,
            "loyalty.redemption.decided.v1",
            json_field("request_id", request["request_id"]),
        )
    assert len(decided) == 1
    decision = orjson.loads(decided[0].value)
    assert decision["outcome"] == "approved"
    assert decision["points"] == 10
    assert decision["balance_after"] == 15
    assert decided[0].key == customer.encode()

    # The single customer view has seen the earning and the redemption.
    activity = await eventually(
        lambda: fetch(
            pg_admin_url,
            "SELECT kind FROM customer_profile.activity WHERE customer_no = $1",
            customer,
        ),
        lambda rows: {"earned", "redeemed"} <= {r["kind"] for r in rows},
    )
    assert {"earned", "redeemed"} <= {r["kind"] for r in activity}
