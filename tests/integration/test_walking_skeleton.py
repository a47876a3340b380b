"""The walking skeleton: a member's card purchase earns points that can be redeemed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import orjson

from shared.infra.embedded import Endpoints
from tests.support import messages as m
from tests.support.db import eventually, fetch, fetchval
from tests.support.kafka import Bank, json_field, read_topic

pytestmark = [__import__("pytest").mark.integration, __import__("pytest").mark.e2e]

VENDOR = "woolworths-test"
MID = "MIDWOOLIES0001"


async def _register_vendor(endpoints: Endpoints, url: str, tmp_path) -> None:
    """The vendor master is loaded the way operators do it: `loyalty vendors import`."""
    csv = tmp_path / "vendors.csv"
    csv.write_text(
        "vendor_id,name,category,partner,accepts_redemptions,merchant_ids,user_codes,aliases\n"
        f"{VENDOR},Woolworths,groceries,true,true,{MID},,\n"
    )
    env = {
        **os.environ,
        "LOYALTY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOYALTY_DATABASE_URL": endpoints.database_url,
        "LOYALTY_INFRA_MODE": os.environ.get("LOYALTY_INFRA_MODE", "embedded"),
    }
    command = [sys.executable, "-c", "from shared.cli import main; main()"]
    done = await asyncio.to_thread(
        subprocess.run, [*command, "vendors", "import", str(csv)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # The vendor change reaches the wallet (which vendors accept points) through Kafka.
    await eventually(
        lambda: fetchval(
            url, "SELECT count(*) FROM redemption.vendors WHERE vendor_id = $1", VENDOR
        ),
        lambda n: n == 1,
    )


async def test_purchase_earns_points_that_a_vendor_can_redeem(
    platform, endpoints: Endpoints, pg_admin_url: str, tmp_path
) -> None:
    await _register_vendor(endpoints, pg_admin_url, tmp_path)
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
