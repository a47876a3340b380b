"""The customer's next expiries, from the wallet's lots to the call centre.

Only the wallet knows the lots; it states the next expiry days in every balance change, and
customer_profile keeps them for its query API and `loyalty customer show`. The wallet's
handlers run as its runtime role, what they publish is consumed by customer_profile's handler
as its runtime role, and the API answers over the real database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import BalanceChanged, PointsPosted, ProfileChanged, VendorChanged
from contracts.vendor_gateway import RedemptionRequested
from services.customer_profile import handlers as profile_handlers
from services.customer_profile.api import create_app
from services.customer_profile.cli import format_view, load_view
from services.redemption import handlers as wallet_handlers
from services.redemption.decisions import BALANCE_TOPIC, Decider
from services.redemption.expiry import expire_lots, lapse_holds
from shared.db.engine import create_engine, runtime_url
from shared.messaging.uow import Inbound, Outgoing, UnitOfWork
from shared.settings import PlatformSettings, service_settings
from tests.integration.test_customer_profile_handlers import _balance
from tests.integration.test_customer_profile_handlers import apply as consume

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)
D1, D2, D3, D4 = (TODAY + timedelta(days=n) for n in (30, 90, 200, 400))


@pytest.fixture
async def profiles(pg_admin_url: str) -> AsyncIterator[AsyncEngine]:
    service = "customer_profile"
    engine = create_engine(
        runtime_url(service, pg_admin_url, PlatformSettings(), service_settings(service))
    )
    yield engine
    await engine.dispose()


async def run(engine: AsyncEngine, handler: Any, *messages: Any) -> list[Outgoing]:
    """One batch through a wallet handler; returns what it published."""
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, "redemption")
        await handler(uow, [Inbound("t", 0, n, None, m) for n, m in enumerate(messages)])
        published = list(uow.outgoing)
        await uow.flush_outbox()
    return published


async def run_scheduled(engine: AsyncEngine, task: Any, *args: Any) -> list[Outgoing]:
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, "redemption")
        await task(uow, *args, limit=10_000)
        published = list(uow.outgoing)
        await uow.flush_outbox()
    return published


def balance_changes(published: Sequence[Outgoing], customer: str) -> list[BalanceChanged]:
    changes = [
        BalanceChanged.model_validate_json(o.payload) for o in published if o.topic == BALANCE_TOPIC
    ]
    return [c for c in changes if c.customer_no == customer]


def buckets(change: BalanceChanged) -> list[tuple[date, int]] | None:
    if change.next_expiries is None:
        return None
    return [(b.expires_at, b.points) for b in change.next_expiries]


def earn(customer: str, points: int, expires: date | None) -> PointsPosted:
    posting_id = f"post:{uuid.uuid4().hex}"
    return PointsPosted(
        message_id=f"posted:{posting_id}", sent_at=NOW, posting_id=posting_id,
        customer_no=customer, currency="points", points=points, kind="earn",
        source_transaction_id=None, reverses_posting_id=None, expires_at=expires,
        rule_id=None, rule_version=None, earned_at=NOW, actor=None, reason=None,
    )  # fmt: skip


def request(customer: str, vendor: str, action: str, points: int) -> RedemptionRequested:
    return RedemptionRequested(
        message_id=f"req:{uuid.uuid4().hex}", sent_at=NOW,
        request_id=f"R-{uuid.uuid4().hex[:12]}", action=action, vendor_id=vendor,
        customer_no=customer, points=points, reward="voucher", requested_at=NOW,
    )  # fmt: skip


async def member_and_vendor(wallet: AsyncEngine) -> tuple[str, str]:
    customer = f"X{uuid.uuid4().int % 10**11:011d}"
    vendor = f"vendor-{uuid.uuid4().hex[:8]}"
    await run(wallet, wallet_handlers.record_profiles, ProfileChanged(
        message_id=f"profile:{customer}", sent_at=NOW, customer_no=customer, status="active",
        loyalty_member=True, first_name="Thabo", last_name="Nkosi", preferred_language="en",
        segment="retail", tier="blue", cashback_account_no=None, profile_version=1,
        changed_at=NOW,
    ))  # fmt: skip
    await run(wallet, wallet_handlers.record_vendors, VendorChanged(
        message_id=f"vendor:{vendor}", sent_at=NOW, vendor_id=vendor, name="Test vendor",
        category="groceries", partner=True, accepts_redemptions=True, active=True,
        changed_at=NOW,
    ))  # fmt: skip
    return customer, vendor


async def test_next_expiries_follow_the_lots_from_the_wallet_to_the_api_and_the_cli(
    wallet: AsyncEngine, profiles: AsyncEngine, pg_admin_url: str
) -> None:
    customer, vendor = await member_and_vendor(wallet)

    # Earned on different days, expiring on different days; one batch, as the consumer reads.
    earned = balance_changes(await run(wallet, wallet_handlers.apply_postings,
        earn(customer, 20, YESTERDAY),  # a lot already past its expiry: never listed
        earn(customer, 100, D1),
        earn(customer, 60, D2),
        earn(customer, 40, D2),  # the same day: one bucket
        earn(customer, 80, D3),
        earn(customer, 50, D4),  # a fourth day: beyond the three listed
        earn(customer, 30, None),  # never expires: not listed
    ), customer)  # fmt: skip
    assert [buckets(c) for c in earned] == [
        [],
        [(D1, 100)],
        [(D1, 100), (D2, 60)],
        [(D1, 100), (D2, 100)],
        [(D1, 100), (D2, 100), (D3, 80)],
        [(D1, 100), (D2, 100), (D3, 80)],
        [(D1, 100), (D2, 100), (D3, 80)],
    ]

    # 70 points redeemed come from the soonest-expiring usable lot (D1: 100 -> 30);
    # a hold reserves points but takes nothing from the lots.
    decided = balance_changes(await run(wallet, Decider().decide_batch,
        request(customer, vendor, "redeem", 70),
        request(customer, vendor, "authorize", 10),
    ), customer)  # fmt: skip
    after_redemption = [(D1, 30), (D2, 100), (D3, 80)]
    assert [(c.cause, c.balance, c.held, buckets(c)) for c in decided] == [
        ("redemption", 310, 0, after_redemption),
        ("hold", 310, 10, after_redemption),
    ]

    # The scheduled runs: yesterday's lot expires, the hold lapses; the rest is unchanged.
    expired = balance_changes(await run_scheduled(wallet, expire_lots, TODAY), customer)
    lapsed = balance_changes(
        await run_scheduled(wallet, lapse_holds, NOW + timedelta(hours=1)), customer
    )
    assert [(c.cause, c.balance, c.held, buckets(c)) for c in [*expired, *lapsed]] == [
        ("expiry", 290, 10, after_redemption),
        ("lapse", 290, 0, after_redemption),
    ]

    # customer_profile consumes the balance changes, batch by batch, in order; then a change
    # from a wallet that does not state expiries yet leaves the known ones in place.
    for batch in (earned, decided, expired, lapsed):
        await consume(profiles, profile_handlers.record_balances, BALANCE_TOPIC, batch)
    unstated = _balance(customer, 290, NOW + timedelta(hours=2), cause="adjustment", change=1)
    assert unstated.next_expiries is None
    await consume(profiles, profile_handlers.record_balances, BALANCE_TOPIC, [unstated])

    app = create_app(profiles)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as client:
        response = await client.get(f"/customers/{customer}")
    assert response.status_code == 200, response.text
    (points,) = response.json()["balances"]
    assert (points["currency"], points["balance"]) == ("points", 290)
    assert points["next_expiries"] == [
        {"expires_at": D1.isoformat(), "points": 30},
        {"expires_at": D2.isoformat(), "points": 100},
        {"expires_at": D3.isoformat(), "points": 80},
    ]

    shown = format_view(await load_view(pg_admin_url, customer))
    assert f"next expiries 30 on {D1}, 100 on {D2}, 80 on {D3}" in shown


# --- the open lots ----------------------------------------------------------------------

Lots = list[tuple[int, int, int, date | None, str]]


def lots_of(change: BalanceChanged) -> tuple[Lots, int | None] | None:
    """(lot id, starting, current, expires, source) as the message lists them, and the total."""
    if change.open_lots is None:
        return None
    return [
        (lot.lot_id, lot.starting, lot.current, lot.expires_at, lot.source)
        for lot in change.open_lots
    ], change.open_lots_total


async def lot_ids(wallet: AsyncEngine, postings: Sequence[PointsPosted]) -> list[int]:
    """The wallet's lot id of each credit, read from its table (not from any message)."""
    async with wallet.connect() as conn:
        rows = await conn.execute(
            text("SELECT posting_id, lot_id FROM redemption.lots WHERE posting_id = ANY(:p)"),
            {"p": [p.posting_id for p in postings]},
        )
        ids = {r.posting_id: r.lot_id for r in rows}
    return [ids[p.posting_id] for p in postings]


async def test_open_lots_follow_the_lots_from_the_wallet_to_the_api(
    wallet: AsyncEngine, profiles: AsyncEngine
) -> None:
    customer, vendor = await member_and_vendor(wallet)
    postings = [
        earn(customer, 20, YESTERDAY),  # past its expiry: not open
        earn(customer, 100, D1),
        earn(customer, 30, None),  # never expires: last
        earn(customer, 60, D2),
        earn(customer, 50, D2),  # the same day as the one before: by lot id
    ]
    earned = balance_changes(await run(wallet, wallet_handlers.apply_postings, *postings), customer)
    past, d1, never, d2a, d2b = await lot_ids(wallet, postings)
    assert past < d1 < never < d2a < d2b  # opened in message order
    source = [c.posting_id for c in postings]
    # Every message states the lots as they are after it, with the ids the lots were given
    # when written at the end of the batch.
    assert [lots_of(c) for c in earned] == [
        ([], 0),
        ([(d1, 100, 100, D1, source[1])], 1),
        ([(d1, 100, 100, D1, source[1]), (never, 30, 30, None, source[2])], 2),
        ([(d1, 100, 100, D1, source[1]), (d2a, 60, 60, D2, source[3]),
          (never, 30, 30, None, source[2])], 3),
        ([(d1, 100, 100, D1, source[1]), (d2a, 60, 60, D2, source[3]),
          (d2b, 50, 50, D2, source[4]), (never, 30, 30, None, source[2])], 4),
    ]  # fmt: skip

    # 70 points redeemed come out of the soonest-expiring usable lot: 100 -> 30 left.
    (redeemed,) = balance_changes(
        await run(wallet, Decider().decide_batch, request(customer, vendor, "redeem", 70)),
        customer,
    )
    expected = [
        (d1, 100, 30, D1, source[1]),
        (d2a, 60, 60, D2, source[3]),
        (d2b, 50, 50, D2, source[4]),
        (never, 30, 30, None, source[2]),
    ]
    assert (redeemed.cause, redeemed.balance) == ("redemption", 190)
    assert lots_of(redeemed) == (expected, 4)
    # The wallet's own table agrees with what it said.
    async with wallet.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT lot_id, initial_points, remaining_points, expires_at, posting_id "
                "FROM redemption.lots WHERE customer_no = :c AND remaining_points > 0 "
                "AND (expires_at IS NULL OR expires_at >= :d) "
                "ORDER BY expires_at IS NULL, expires_at, lot_id"
            ),
            {"c": customer, "d": TODAY},
        )
        assert [tuple(r) for r in rows] == expected

    # 150 more empty the three expiring lots (30 + 60 + 50) and take 10 of the one that never
    # expires; cancelling gives them back, the emptied lots too, as they started and came.
    spend = request(customer, vendor, "redeem", 150)
    (spent,) = balance_changes(await run(wallet, Decider().decide_batch, spend), customer)
    assert (spent.balance, lots_of(spent)) == (40, ([(never, 30, 20, None, source[2])], 1))
    cancel = spend.model_copy(update={"message_id": f"req:{uuid.uuid4().hex}", "action": "cancel"})
    (cancelled,) = balance_changes(await run(wallet, Decider().decide_batch, cancel), customer)
    assert (cancelled.cause, lots_of(cancelled)) == ("cancel", (expected, 4))

    # customer_profile keeps the last statement; a change that states no lots keeps them.
    for batch in (earned, [redeemed], [spent], [cancelled]):
        await consume(profiles, profile_handlers.record_balances, BALANCE_TOPIC, batch)
    unstated = _balance(customer, 190, NOW + timedelta(hours=2), cause="adjustment", change=1)
    assert unstated.open_lots is None
    await consume(profiles, profile_handlers.record_balances, BALANCE_TOPIC, [unstated])

    app = create_app(profiles)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as client:
        response = await client.get(f"/customers/{customer}")
    assert response.status_code == 200, response.text
    (points,) = response.json()["balances"]
    assert points["balance"] == 190
    assert points["open_lots"] == [
        {"lot_id": i, "starting": s, "current": n, "expires_at": e and e.isoformat(), "source": p}
        for i, s, n, e, p in expected
    ]
    assert points["open_lots_total"] == 4


async def test_a_balance_change_lists_at_most_20_open_lots_and_counts_them_all(
    wallet: AsyncEngine,
) -> None:
    customer, _ = await member_and_vendor(wallet)
    postings = [earn(customer, n, TODAY + timedelta(days=n)) for n in range(1, 24)]
    *_, last = balance_changes(
        await run(wallet, wallet_handlers.apply_postings, *reversed(postings)), customer
    )
    ids = await lot_ids(wallet, postings)
    listed = lots_of(last)
    assert listed is not None
    assert listed == (
        [(ids[n - 1], n, n, TODAY + timedelta(days=n), postings[n - 1].posting_id)
         for n in range(1, 21)],
        23,
    )  # fmt: skip
