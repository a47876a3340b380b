"""`loyalty verify` on a real platform: quiet after traffic, loud about a row edited by hand.

The platform here is a private one (its own broker, Postgres and service processes under
.loyalty/verify-<pid>): verify checks every row of every schema, and the session's shared
database also holds rows other tests write straight into one service's tables.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.loyalty import PointsPosted, ProfileChanged, VendorChanged
from contracts.vendor_gateway import RedemptionRequested
from services.redemption import handlers
from services.redemption.decisions import Decider
from shared import verify_cli
from shared.chaos.platform import ChaosPlatform
from shared.chaos.traffic import Traffic
from shared.messaging.uow import Inbound, UnitOfWork
from shared.verify import Snapshot, check
from tests.support.db import execute, fetchval

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
async def private_platform() -> AsyncIterator[ChaosPlatform]:
    platform = ChaosPlatform(Path(".loyalty") / f"verify-{os.getpid()}")
    try:
        await platform.start()
        yield platform
    finally:
        await platform.stop()


async def _send(bootstrap: str, messages: list) -> None:  # type: ignore[type-arg]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for m in messages:
            await producer.send_and_wait(m.topic, value=m.value, key=m.key.encode())
    finally:
        await producer.stop()


@pytest.fixture(scope="module")
async def after_traffic(private_platform: ChaosPlatform) -> ChaosPlatform:
    """Customers, then 400 card, account and gateway messages with redeliveries, drained."""
    endpoints = private_platform.endpoints
    traffic = Traffic(seed=11, customer_count=20)
    await _send(endpoints.kafka_bootstrap, traffic.customers())
    assert await verify_cli.wait_quiet(endpoints.database_url, endpoints.kafka_bootstrap, 120)
    messages = [traffic.next_transaction() for _ in range(400)]
    messages += [traffic.duplicate() for _ in range(20)]
    await _send(endpoints.kafka_bootstrap, messages)
    assert await verify_cli.wait_quiet(endpoints.database_url, endpoints.kafka_bootstrap, 300)
    return private_platform


async def test_after_traffic_every_invariant_holds(after_traffic: ChaosPlatform) -> None:
    endpoints = after_traffic.endpoints
    report = await verify_cli.run_verify(endpoints.database_url, endpoints.kafka_bootstrap)
    assert report.violations == []
    assert report.counts["journal transactions"] > 200
    assert report.counts["lots"] > 100
    assert report.consumer_lag == dict.fromkeys(report.consumer_lag, 0)


async def test_a_balance_edited_by_hand_is_named_and_fails_the_command(
    after_traffic: ChaosPlatform,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoints = after_traffic.endpoints
    url = endpoints.database_url
    customer = await fetchval(
        url, "SELECT customer_no FROM redemption.accounts WHERE currency = 'points' "
        "AND balance > 0 ORDER BY customer_no LIMIT 1",
    )  # fmt: skip
    await execute(url, "UPDATE redemption.accounts SET balance = balance + 7 "
                       "WHERE customer_no = $1 AND currency = 'points'", customer)  # fmt: skip
    try:
        report = await verify_cli.run_verify(url, endpoints.kafka_bootstrap)
        named = {(v.check, v.subject) for v in report.violations}
        account = f"account customer:{customer}:points"
        assert ("balance_is_journal", account) in named
        assert ("lots_cover_balance", account) in named
        assert ("customer_view", f"customer {customer} points") in named

        monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
        monkeypatch.setenv("LOYALTY_DATABASE_URL", url)
        parser = argparse.ArgumentParser()
        verify_cli.register(parser.add_subparsers())
        args = parser.parse_args(["verify", "--json"])
        status = await _in_thread(args)
        printed = json.loads(capsys.readouterr().out)
        assert status == 1
        assert printed["ok"] is False
        printed_checks = {(v["check"], v["subject"]) for v in printed["violations"]}
        assert ("balance_is_journal", account) in printed_checks
    finally:
        await execute(url, "UPDATE redemption.accounts SET balance = balance - 7 "
                           "WHERE customer_no = $1 AND currency = 'points'", customer)  # fmt: skip
    assert (await verify_cli.run_verify(url, endpoints.kafka_bootstrap)).ok


async def test_a_wallet_posting_accrual_never_made_is_named(after_traffic: ChaosPlatform) -> None:
    url = after_traffic.endpoints.database_url
    customer = await fetchval(url, "SELECT min(customer_no) FROM redemption.accounts")
    reference = f"forged:{uuid.uuid4().hex}"
    txn = await fetchval(
        url, "INSERT INTO redemption.journal_transactions (kind, reference, customer_no, currency)"
        " VALUES ('posting', $1, $2, 'points') RETURNING txn_id", reference, customer,
    )  # fmt: skip
    try:
        report = await verify_cli.run_verify(url, after_traffic.endpoints.kafka_bootstrap)
        assert ("posting_in_wallet", f"posting {reference}", "in the wallet, not in accrual") in {
            (v.check, v.subject, v.detail) for v in report.violations
        }
        assert any(v.check == "journal_balanced" and str(txn) in v.subject
                   for v in report.violations)  # fmt: skip
    finally:
        await execute(url, "DELETE FROM redemption.journal_transactions WHERE txn_id = $1", txn)


async def _in_thread(args: argparse.Namespace) -> int:
    """The command runs its own event loop, so not on the test's."""
    import asyncio

    status: int = await asyncio.to_thread(args.func, args)
    return status


# --- found by verify: a reversal applied in the same batch as its credit ----------------------


def _posting(customer: str, posting_id: str, points: int, reverses: str | None) -> PointsPosted:
    return PointsPosted(
        message_id=f"posted:{posting_id}", sent_at=datetime.now(UTC), posting_id=posting_id,
        customer_no=customer, currency="points", points=points,
        kind="earn" if points > 0 else "reversal", source_transaction_id=None,
        reverses_posting_id=reverses, expires_at=date(2030, 1, 31), rule_id=None,
        rule_version=None, earned_at=datetime.now(UTC), actor=None, reason=None,
    )  # fmt: skip


def _only(snapshot: Snapshot, customer: str) -> Snapshot:
    """The rows of one customer (the session database is shared with other tests)."""
    mine = f"customer:{customer}:"
    return replace(
        snapshot,
        accrual=[],  # written straight into the wallet here: no accrual side
        journal=[t for t in snapshot.journal if t.customer_no == customer],
        account_entries={a: n for a, n in snapshot.account_entries.items() if a.startswith(mine)},
        accounts=[a for a in snapshot.accounts if a.customer_no == customer],
        lots=[lot for lot in snapshot.lots if lot.customer_no == customer],
        redemptions=[],
        open_holds={},
        view_balances=[],
        outboxes=[],
    )


async def _apply(engine: Any, handler: Any, topic: str, *messages: object) -> None:
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, "redemption")
        await handler(uow, [Inbound(topic, 0, i, None, m) for i, m in enumerate(messages)])
        await uow.flush_outbox()


async def _wallet_customer(engine: Any) -> str:
    customer = f"V{uuid.uuid4().int % 10**11:011d}"
    now = datetime.now(UTC)
    await _apply(engine, handlers.record_profiles, handlers.PROFILE_TOPIC, ProfileChanged(
        message_id=f"p-{customer}", sent_at=now, customer_no=customer, status="active",
        loyalty_member=True, first_name="Thabo", last_name="Nkosi", preferred_language="en",
        segment="retail", tier="blue", cashback_account_no=None, profile_version=1,
        changed_at=now,
    ))  # fmt: skip
    await _apply(engine, handlers.record_vendors, handlers.VENDOR_TOPIC, VendorChanged(
        message_id=f"v-{customer}", sent_at=now, vendor_id="verify-vendor", name="Verify",
        category="retail", partner=True, accepts_redemptions=True, active=True,
        changed_at=datetime(2026, 1, 1, tzinfo=UTC),
    ))  # fmt: skip
    return customer


def _request(customer: str, action: str, points: int | None) -> RedemptionRequested:
    now = datetime.now(UTC)
    return RedemptionRequested(
        message_id=f"m-{uuid.uuid4().hex}", sent_at=now, request_id=f"R-{customer}",
        action=action, vendor_id="verify-vendor", customer_no=customer, points=points,
        reward="voucher", requested_at=now,
    )  # fmt: skip


async def _wallet_violations(pg_admin_url: str, customer: str) -> tuple[list[Any], list[Any]]:
    snapshot = _only(await verify_cli.read_database(pg_admin_url), customer)
    lots = [(lot.initial, lot.remaining) for lot in snapshot.lots]
    # No accrual and no redemptions in the filtered snapshot: the ledger checks only.
    wanted = {"balance_is_journal", "lots", "reversal_from_original_lot", "lots_cover_balance"}
    return lots, [v for v in check(snapshot) if v.check in wanted]


async def test_a_reversal_in_the_same_batch_as_its_credit_takes_from_that_credits_lot(
    wallet: Any, pg_admin_url: str
) -> None:
    # Found by chaos: the lot of a credit was created after the batch's reversals had run,
    # so a reversal of it in the same batch took nothing from it (the lot book fixed it).
    customer = await _wallet_customer(wallet)
    earn = _posting(customer, f"earn:{customer}", 40, None)
    back = _posting(customer, f"reverse:{customer}", -40, earn.posting_id)
    await _apply(wallet, handlers.apply_postings, handlers.POSTED_TOPIC, earn, back)
    lots, violations = await _wallet_violations(pg_admin_url, customer)
    assert lots == [(40, 0)]
    assert violations == []


async def test_a_cancel_while_in_debt_repays_the_debt_before_refilling_lots(
    wallet: Any, pg_admin_url: str
) -> None:
    # Found by chaos: 100 points earned and spent, 40 clawed back (a debt of 40), then the
    # redemption cancelled. The balance is 60; the lots held 100 until the cancel repaid
    # the debt first, as the wallet's policy has every credit do.
    customer = await _wallet_customer(wallet)
    earn = _posting(customer, f"earn:{customer}", 100, None)
    await _apply(wallet, handlers.apply_postings, handlers.POSTED_TOPIC, earn)
    await _apply(wallet, Decider().decide_batch, handlers.REQUESTED_TOPIC,
                 _request(customer, "redeem", 100))  # fmt: skip
    back = _posting(customer, f"reverse:{customer}", -40, earn.posting_id)
    await _apply(wallet, handlers.apply_postings, handlers.POSTED_TOPIC, back)
    await _apply(wallet, Decider().decide_batch, handlers.REQUESTED_TOPIC,
                 _request(customer, "cancel", None))  # fmt: skip
    balance = await fetchval(
        pg_admin_url, "SELECT balance FROM redemption.accounts WHERE customer_no = $1 "
        "AND currency = 'points'", customer,
    )  # fmt: skip
    lots, violations = await _wallet_violations(pg_admin_url, customer)
    assert (balance, lots) == (60, [(100, 60)])
    assert violations == []
