"""The wallet on the real database: holds, captures, cancels, expiry, lapse, concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import PointsPosted, ProfileChanged, VendorChanged
from contracts.vendor_gateway import RedemptionDecided, RedemptionRequested
from services.redemption import handlers
from services.redemption.decisions import Decider
from services.redemption.expiry import expire_lots, lapse_holds
from shared.messaging.uow import Inbound, UnitOfWork

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
VENDOR = "wallet-test-vendor"


def inbound(topic: str, message: object) -> Inbound[object]:
    return Inbound(topic, 0, 0, None, message)


async def run(engine: AsyncEngine, handler, topic: str, *messages: object) -> list[object]:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, "redemption")
        await handler(uow, [inbound(topic, m) for m in messages])
        published = list(uow.outgoing)
        await uow.flush_outbox()
    return published


async def member(engine: AsyncEngine, *, language: str = "en") -> str:
    customer = f"W{uuid.uuid4().int % 10**11:011d}"
    profile = ProfileChanged(
        message_id=f"p-{customer}", sent_at=NOW, customer_no=customer, status="active",
        loyalty_member=True, first_name="Annelie", last_name="Botha", preferred_language=language,
        segment="retail", tier="blue", cashback_account_no="4071234567", profile_version=1,
        changed_at=NOW,
    )  # fmt: skip
    await run(engine, handlers.record_profiles, handlers.PROFILE_TOPIC, profile)
    vendor = VendorChanged(
        message_id=f"v-{customer}", sent_at=NOW, vendor_id=VENDOR, name="Test", category="x",
        partner=True, accepts_redemptions=True, active=True, changed_at=NOW - timedelta(days=1),
    )  # fmt: skip
    await run(engine, handlers.record_vendors, handlers.VENDOR_TOPIC, vendor)
    return customer


async def credit(engine: AsyncEngine, customer: str, points: int, expires: date | None) -> str:
    posting_id = f"earn:{uuid.uuid4().hex}"
    posted = PointsPosted(
        message_id=f"posted:{posting_id}", sent_at=NOW, posting_id=posting_id,
        customer_no=customer, currency="points", points=points,
        kind="earn" if points > 0 else "reversal", source_transaction_id=None,
        reverses_posting_id=None, expires_at=expires, rule_id=None, rule_version=None,
        earned_at=NOW, actor=None, reason=None,
    )  # fmt: skip
    await run(engine, handlers.apply_postings, handlers.POSTED_TOPIC, posted)
    return posting_id


def request(customer: str, action: str, points: int | None, request_id: str) -> RedemptionRequested:
    return RedemptionRequested(
        message_id=f"m-{uuid.uuid4().hex}", sent_at=NOW, request_id=request_id, action=action,
        vendor_id=VENDOR, customer_no=customer, points=points, reward="voucher", requested_at=NOW,
    )  # fmt: skip


async def decide(engine: AsyncEngine, *requests: RedemptionRequested) -> list[RedemptionDecided]:
    published = await run(engine, Decider().decide_batch, handlers.REQUESTED_TOPIC, *requests)
    return [
        RedemptionDecided.model_validate_json(o.payload)  # type: ignore[attr-defined]
        for o in published
        if o.topic == "loyalty.redemption.decided.v1"  # type: ignore[attr-defined]
    ]


async def balance(engine: AsyncEngine, customer: str) -> tuple[int, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT balance, held FROM redemption.accounts WHERE customer_no = :c "
                     "AND currency = 'points'"), {"c": customer},
            )
        ).one()  # fmt: skip
    return row.balance, row.held


async def test_a_hold_counts_at_once_and_a_capture_takes_fewer_points(wallet: AsyncEngine) -> None:
    customer = await member(wallet)
    await credit(wallet, customer, 300, date(2027, 6, 30))
    (held,) = await decide(wallet, request(customer, "authorize", 250, "R1"))
    assert (held.outcome, held.points, held.balance_after) == ("approved", 250, 50)
    assert await balance(wallet, customer) == (300, 250)
    (refused,) = await decide(wallet, request(customer, "redeem", 100, "R2"))
    assert (refused.outcome, refused.reason_code) == ("declined", "insufficient_points")
    (captured,) = await decide(wallet, request(customer, "capture", 200, "R1"))
    assert (captured.outcome, captured.points, captured.balance_after) == ("approved", 200, 100)
    assert await balance(wallet, customer) == (100, 0)
    (again,) = await decide(wallet, request(customer, "capture", 200, "R1"))
    assert again.model_dump(exclude={"message_id", "sent_at"}) == captured.model_dump(
        exclude={"message_id", "sent_at"}
    )  # the original decision, never a second debit
    assert await balance(wallet, customer) == (100, 0)
    (gone,) = await decide(wallet, request(customer, "void", None, "R1"))
    assert (gone.outcome, gone.reason_code) == ("declined", "hold_not_found")


async def test_a_void_releases_the_hold_and_a_lapsed_hold_resolves_once(
    wallet: AsyncEngine,
) -> None:
    customer = await member(wallet)
    await credit(wallet, customer, 100, None)
    await decide(wallet, request(customer, "authorize", 60, "H1"))
    (voided,) = await decide(wallet, request(customer, "void", None, "H1"))
    assert (voided.outcome, voided.points) == ("approved", 60)
    assert await balance(wallet, customer) == (100, 0)

    await decide(wallet, request(customer, "authorize", 40, "H2"))
    assert await balance(wallet, customer) == (100, 40)
    async with wallet.begin() as conn:
        lapsed = await lapse_holds(UnitOfWork(conn, "redemption"), NOW + timedelta(hours=1))
    assert lapsed >= 1
    assert await balance(wallet, customer) == (100, 0)
    (late,) = await decide(wallet, request(customer, "capture", None, "H2"))
    assert late.reason_code == "hold_not_found"


async def test_cancel_returns_points_to_their_lots_and_expired_ones_to_breakage(
    wallet: AsyncEngine,
) -> None:
    customer = await member(wallet, language="af")
    soon = NOW.date() + timedelta(days=1)
    await credit(wallet, customer, 30, soon)
    await credit(wallet, customer, 70, date(2027, 12, 31))
    (redeemed,) = await decide(wallet, request(customer, "redeem", 50, "C1"))
    assert redeemed.points == 50  # 30 from the lot expiring soon, 20 from the other
    async with wallet.begin() as conn:
        # The soon lot has expired by the time the vendor cancels.
        await conn.execute(
            text("UPDATE redemption.lots SET expires_at = :d WHERE customer_no = :c "
                 "AND expires_at = :s"),
            {"d": NOW.date() - timedelta(days=1), "c": customer, "s": soon},
        )  # fmt: skip
    (cancelled,) = await decide(wallet, request(customer, "cancel", None, "C1"))
    assert (cancelled.outcome, cancelled.points) == ("approved", 20)
    assert await balance(wallet, customer) == (70, 0)
    (twice,) = await decide(wallet, request(customer, "cancel", None, "C2"))
    assert twice.reason_code == "redemption_not_found"
    assert twice.language == "af"
    assert "kanselleer" in (twice.reason_text or "")


async def test_expiry_zeroes_each_lot_once_and_posts_to_breakage(wallet: AsyncEngine) -> None:
    customer = await member(wallet)
    await credit(wallet, customer, 40, NOW.date() - timedelta(days=2))
    await credit(wallet, customer, 60, date(2027, 1, 31))
    for _ in range(2):  # safe to run twice
        async with wallet.begin() as conn:
            await expire_lots(UnitOfWork(conn, "redemption"), NOW.date(), limit=10_000)
    assert await balance(wallet, customer) == (60, 0)
    async with wallet.connect() as conn:
        breakage = await conn.scalar(
            text("SELECT COALESCE(SUM(e.amount), 0) FROM redemption.journal_entries e "
                 "JOIN redemption.journal_transactions t USING (txn_id) "
                 "WHERE t.customer_no = :c AND t.kind = 'expiry' "
                 "AND e.account = 'programme:breakage:points'"), {"c": customer},
        )  # fmt: skip
    assert breakage == 40


async def test_a_clawback_of_spent_points_leaves_a_debt_that_the_next_credit_repays(
    wallet: AsyncEngine,
) -> None:
    customer = await member(wallet)
    await credit(wallet, customer, 100, None)
    await decide(wallet, request(customer, "redeem", 80, "D1"))
    await credit(wallet, customer, -50, None)  # 20 left in lots: 30 become a debt
    assert await balance(wallet, customer) == (-30, 0)
    await credit(wallet, customer, 50, None)
    assert await balance(wallet, customer) == (20, 0)
    async with wallet.connect() as conn:
        lots = await conn.scalar(
            text("SELECT SUM(remaining_points) FROM redemption.lots WHERE customer_no = :c"),
            {"c": customer},
        )
    assert lots == 20  # the open lots equal the balance once the debt is repaid


async def test_concurrent_redemptions_never_overdraw(wallet: AsyncEngine) -> None:
    customer = await member(wallet)
    await credit(wallet, customer, 500, None)
    outcomes = await asyncio.gather(
        *(decide(wallet, request(customer, "redeem", 120, f"X{i}")) for i in range(8))
    )
    approved = [d for (d,) in outcomes if d.outcome == "approved"]
    assert len(approved) == 4  # 4 x 120 = 480 <= 500 < 5 x 120
    assert await balance(wallet, customer) == (20, 0)


async def test_a_decision_that_waited_for_a_postings_lock_spends_the_points_it_committed(
    wallet: AsyncEngine,
) -> None:
    """The batch's first statement locks the accounts; the lots and balances are read by the
    next, whose snapshot must see what the lock's holder committed meanwhile."""
    customer = await member(wallet)
    await credit(wallet, customer, 100, None)
    async with wallet.connect() as postings:
        await postings.begin()
        uow = UnitOfWork(postings, "redemption")
        posted = PointsPosted(
            message_id=f"posted:{uuid.uuid4().hex}", sent_at=NOW,
            posting_id=f"earn:{uuid.uuid4().hex}", customer_no=customer, currency="points",
            points=200, kind="earn", source_transaction_id=None, reverses_posting_id=None,
            expires_at=None, rule_id=None, rule_version=None, earned_at=NOW, actor=None,
            reason=None,
        )  # fmt: skip
        await handlers.apply_postings(uow, [inbound(handlers.POSTED_TOPIC, posted)])
        deciding = asyncio.create_task(decide(wallet, request(customer, "redeem", 250, "W1")))
        await asyncio.sleep(0.5)
        assert not deciding.done()  # waiting for the account the postings hold
        await uow.flush_outbox()
        await postings.commit()
    (decision,) = await deciding
    assert (decision.outcome, decision.balance_after) == ("approved", 50)
    assert await balance(wallet, customer) == (50, 0)


async def test_every_journal_transaction_balances(wallet: AsyncEngine) -> None:
    async with wallet.connect() as conn:
        unbalanced = await conn.scalar(
            text("SELECT count(*) FROM (SELECT txn_id FROM redemption.journal_entries "
                 "GROUP BY txn_id HAVING SUM(amount) <> 0) t")
        )  # fmt: skip
    assert unbalanced == 0


async def test_the_wallet_view_shows_balance_held_debt_lots_holds_and_redemptions(
    wallet: AsyncEngine,
) -> None:
    from services.redemption.cli import wallet_view

    customer = await member(wallet)
    await credit(wallet, customer, 90, date(2027, 2, 28))
    await decide(wallet, request(customer, "authorize", 10, "V1"))
    await decide(wallet, request(customer, "redeem", 30, "V2"))
    view = await wallet_view(wallet, customer)
    assert {k: view[k] for k in ("customer_no", "balance", "held", "debt")} == {
        "customer_no": customer, "balance": 60, "held": 10, "debt": 0,
    }  # fmt: skip
    assert [(lot["starting"], lot["current"]) for lot in view["lots"]] == [(90, 60)]
    assert [h["state"] for h in view["holds"]] == ["open"]
    assert {(r["action"], r["outcome"]) for r in view["redemptions"]} == {
        ("authorize", "approved"), ("redeem", "approved"),
    }  # fmt: skip
