"""The wallet ledger on the real database: postings, redemptions, declines, idempotency.

Handlers are called directly, as the consumer calls them: one unit of work over a
runtime-role connection per batch, with hand-built inbound messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import BalanceChanged, PointsPosted, ProfileChanged
from contracts.vendor_gateway import RedemptionDecided, RedemptionRequested
from services.redemption import handlers
from services.redemption.app import definition
from services.redemption.decisions import BALANCE_TOPIC, DECIDED_TOPIC, Decider
from shared.messaging.uow import Inbound, Outgoing, UnitOfWork
from tests.support.contracts import vendor_changed

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
LATER = date(2030, 12, 31)
SOONER = date(2029, 6, 30)


@pytest.fixture
def vendor() -> str:
    return f"vendor-{uuid.uuid4().hex[:8]}"


async def apply(engine: AsyncEngine, handler: Any, *messages: Any) -> list[Outgoing]:
    """One batch through a handler; returns what it published."""
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, "redemption")
        await handler(uow, [Inbound("t", 0, n, None, m) for n, m in enumerate(messages)])
        published = list(uow.outgoing)
        await uow.flush_outbox()
    return published


def new_customer() -> str:
    return f"L{uuid.uuid4().int % 10**11:011d}"


def profile(customer: str, *, version: int = 1, member: bool = True, language: str = "en",
            status: str = "active") -> ProfileChanged:  # fmt: skip
    return ProfileChanged(
        message_id=f"profile:{customer}:{version}", sent_at=NOW, customer_no=customer,
        status=status, loyalty_member=member, first_name="Annelie", last_name="Botha",
        preferred_language=language, segment="retail", tier="blue",
        cashback_account_no="4071234567", profile_version=version, changed_at=NOW,
    )  # fmt: skip


def posting(customer: str, points: int, *, expires: date | None = LATER,
            reverses: str | None = None, kind: str | None = None) -> PointsPosted:  # fmt: skip
    posting_id = f"post:{uuid.uuid4().hex}"
    return PointsPosted(
        message_id=f"posted:{posting_id}", sent_at=NOW, posting_id=posting_id,
        customer_no=customer, currency="points", points=points,
        kind=kind or ("earn" if points > 0 else "reversal"), source_transaction_id=None,
        reverses_posting_id=reverses, expires_at=expires if points > 0 else None,
        rule_id=None, rule_version=None, earned_at=NOW, actor=None, reason=None,
    )  # fmt: skip


def redeem(customer: str, vendor_id: str, points: int, request_id: str | None = None,
           *, action: str = "redeem") -> RedemptionRequested:  # fmt: skip
    return RedemptionRequested(
        message_id=f"req:{uuid.uuid4().hex}", sent_at=NOW,
        request_id=request_id or f"R-{uuid.uuid4().hex[:12]}", action=action,
        vendor_id=vendor_id, customer_no=customer, points=points, reward="voucher",
        requested_at=NOW,
    )  # fmt: skip


def decisions(published: Sequence[Outgoing]) -> list[RedemptionDecided]:
    return [
        RedemptionDecided.model_validate_json(o.payload)
        for o in published
        if o.topic == DECIDED_TOPIC
    ]


def balance_changes(published: Sequence[Outgoing]) -> list[BalanceChanged]:
    return [
        BalanceChanged.model_validate_json(o.payload) for o in published if o.topic == BALANCE_TOPIC
    ]


async def decide(engine: AsyncEngine, *requests: RedemptionRequested) -> list[RedemptionDecided]:
    return decisions(await apply(engine, Decider().decide_batch, *requests))


async def member(engine: AsyncEngine, vendor_id: str, **kwargs: Any) -> str:
    customer = new_customer()
    await apply(engine, handlers.record_profiles, profile(customer, **kwargs))
    await apply(engine, handlers.record_vendors, vendor_changed(vendor_id, at=NOW))
    return customer


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text(sql), params))


async def balance(engine: AsyncEngine, customer: str) -> int | None:
    found = await rows(
        engine,
        "SELECT balance FROM redemption.accounts WHERE customer_no = :c AND currency = 'points'",
        c=customer,
    )
    return found[0].balance if found else None


async def lots(engine: AsyncEngine, customer: str) -> dict[str, int]:
    """posting id -> points left in its lot."""
    found = await rows(
        engine,
        "SELECT posting_id, remaining_points FROM redemption.lots WHERE customer_no = :c",
        c=customer,
    )
    return {r.posting_id: r.remaining_points for r in found}


async def journal(engine: AsyncEngine, customer: str) -> dict[str, int]:
    """The customer's journal: account -> sum of its entries."""
    found = await rows(
        engine,
        "SELECT e.account, SUM(e.amount) AS total FROM redemption.journal_entries e "
        "JOIN redemption.journal_transactions t USING (txn_id) WHERE t.customer_no = :c "
        "GROUP BY e.account",
        c=customer,
    )
    return {r.account: int(r.total) for r in found}


async def unbalanced_transactions(engine: AsyncEngine) -> int:
    found = await rows(
        engine,
        "SELECT count(*) AS n FROM (SELECT txn_id FROM redemption.journal_entries "
        "GROUP BY txn_id HAVING SUM(amount) <> 0) t",
    )
    return int(found[0].n)


# --- postings -----------------------------------------------------------------------------


async def test_a_credit_opens_a_lot_and_a_balanced_journal_entry(wallet: AsyncEngine) -> None:
    customer = new_customer()
    earned = posting(customer, 250)
    published = await apply(wallet, handlers.apply_postings, earned)

    assert await balance(wallet, customer) == 250
    assert await lots(wallet, customer) == {earned.posting_id: 250}
    assert await journal(wallet, customer) == {
        f"customer:{customer}:points": 250,
        "programme:issued:points": -250,
    }
    (changed,) = balance_changes(published)
    assert (changed.change, changed.balance, changed.cause, changed.reference) == (
        250, 250, "earn", earned.posting_id,
    )  # fmt: skip
    # No hot row: the programme's side is journal entries only, never an account row.
    programme = await rows(
        wallet, "SELECT 1 FROM redemption.accounts WHERE customer_no LIKE 'programme%'"
    )
    assert programme == []


async def test_a_posting_is_credited_once_however_often_it_arrives(wallet: AsyncEngine) -> None:
    customer = new_customer()
    earned = posting(customer, 100)
    resent = earned.model_copy(update={"message_id": f"again:{earned.message_id}"})
    await apply(wallet, handlers.apply_postings, earned, resent)  # twice in one batch
    published = await apply(wallet, handlers.apply_postings, resent)  # and again later

    assert published == []
    assert await balance(wallet, customer) == 100
    assert await lots(wallet, customer) == {earned.posting_id: 100}
    assert await journal(wallet, customer) == {
        f"customer:{customer}:points": 100,
        "programme:issued:points": -100,
    }


async def test_a_reversal_takes_from_its_own_lot_first_then_the_first_to_expire(
    wallet: AsyncEngine,
) -> None:
    customer = new_customer()
    sooner, later = posting(customer, 40, expires=SOONER), posting(customer, 100, expires=LATER)
    await apply(wallet, handlers.apply_postings, sooner, later)

    reversal = posting(customer, -120, reverses=later.posting_id)
    published = await apply(wallet, handlers.apply_postings, reversal)

    # 100 from the lot it reverses, the other 20 from the lot that expires first.
    assert await lots(wallet, customer) == {sooner.posting_id: 20, later.posting_id: 0}
    assert await balance(wallet, customer) == 20
    (changed,) = balance_changes(published)
    assert (changed.change, changed.balance, changed.cause) == (-120, 20, "reversal")


async def test_a_clawback_beyond_the_lots_is_a_debt_not_a_silent_cap(
    wallet: AsyncEngine,
) -> None:
    customer = new_customer()
    earned = posting(customer, 30)
    await apply(wallet, handlers.apply_postings, earned)
    adjustment = posting(customer, -50, kind="adjustment")
    published = await apply(wallet, handlers.apply_postings, adjustment)

    assert await balance(wallet, customer) == -20
    assert await lots(wallet, customer) == {earned.posting_id: 0}
    assert await journal(wallet, customer) == {
        f"customer:{customer}:points": -20,
        "programme:issued:points": 20,
    }
    assert balance_changes(published)[0].cause == "adjustment"
    # The next credit repays the debt first: its lot holds only what is left over.
    repay = posting(customer, 50)
    await apply(wallet, handlers.apply_postings, repay)
    assert await balance(wallet, customer) == 30
    assert (await lots(wallet, customer))[repay.posting_id] == 30


async def test_a_credit_and_its_reversal_in_one_batch_leave_no_points_in_the_lot(
    wallet: AsyncEngine,
) -> None:
    customer = new_customer()
    other = posting(customer, 10, expires=SOONER)
    await apply(wallet, handlers.apply_postings, other)
    earned = posting(customer, 60)
    reversed_ = posting(customer, -60, reverses=earned.posting_id)
    await apply(wallet, handlers.apply_postings, earned, reversed_)

    assert await balance(wallet, customer) == 10
    assert await lots(wallet, customer) == {other.posting_id: 10, earned.posting_id: 0}


# --- redemptions --------------------------------------------------------------------------


async def test_a_redemption_consumes_lots_first_to_expire_and_records_where_points_came_from(
    wallet: AsyncEngine, vendor: str
) -> None:
    customer = await member(wallet, vendor)
    later, sooner = posting(customer, 100, expires=LATER), posting(customer, 50, expires=SOONER)
    await apply(wallet, handlers.apply_postings, later, sooner)

    request = redeem(customer, vendor, 80)
    published = await apply(wallet, Decider().decide_batch, request)

    (decided,) = decisions(published)
    assert (decided.outcome, decided.points, decided.balance_after) == ("approved", 80, 70)
    assert (decided.reason_code, decided.reason_text) == (None, None)
    assert (decided.request_id, decided.vendor_id, decided.action) == (
        request.request_id, vendor, "redeem",
    )  # fmt: skip
    assert [o.key for o in published if o.topic == DECIDED_TOPIC] == [customer]
    assert await balance(wallet, customer) == 70
    assert await lots(wallet, customer) == {sooner.posting_id: 0, later.posting_id: 70}
    allocated = await rows(
        wallet,
        "SELECT l.posting_id, a.points FROM redemption.allocations a "
        "JOIN redemption.redemptions r USING (redemption_id) "
        "JOIN redemption.lots l USING (lot_id) WHERE r.request_id = :r ORDER BY a.lot_id",
        r=request.request_id,
    )
    assert {(a.posting_id, a.points) for a in allocated} == {
        (sooner.posting_id, 50), (later.posting_id, 30),
    }  # fmt: skip
    assert await journal(wallet, customer) == {
        f"customer:{customer}:points": 70,
        "programme:issued:points": -150,
        "programme:redeemed:points": 80,
    }
    (changed,) = balance_changes(published)
    assert (changed.change, changed.balance, changed.cause) == (-80, 70, "redemption")
    assert await unbalanced_transactions(wallet) == 0


async def test_a_repeated_request_gets_the_original_decision_and_no_second_debit(
    wallet: AsyncEngine, vendor: str
) -> None:
    customer = await member(wallet, vendor)
    await apply(wallet, handlers.apply_postings, posting(customer, 100))
    first = redeem(customer, vendor, 60, "POS-1")
    again = redeem(customer, vendor, 60, "POS-1")  # same request, a new message id
    (original,) = decisions(await apply(wallet, Decider().decide_batch, first))
    (repeated,) = decisions(await apply(wallet, Decider().decide_batch, again))
    # ... and twice in one batch.
    both = decisions(await apply(wallet, Decider().decide_batch, again, again.model_copy(
        update={"message_id": "req:" + uuid.uuid4().hex})))  # fmt: skip

    assert await balance(wallet, customer) == 40
    content = original.model_dump(exclude={"message_id", "sent_at"})
    for decision in (repeated, *both):
        assert decision.model_dump(exclude={"message_id", "sent_at"}) == content
        assert decision.message_id != original.message_id
    assert len({d.message_id for d in (repeated, *both)}) == 3


async def test_a_redelivered_message_gets_its_decision_again(
    wallet: AsyncEngine, vendor: str
) -> None:
    customer = await member(wallet, vendor)
    await apply(wallet, handlers.apply_postings, posting(customer, 100))
    on_duplicate = next(
        s.on_duplicate for s in definition().subscriptions if s.topic == handlers.REQUESTED_TOPIC
    )
    assert on_duplicate is not None
    first = redeem(customer, vendor, 70, "POS-2")
    repeat = redeem(customer, vendor, 70, "POS-2")
    (original,) = decisions(await apply(wallet, Decider().decide_batch, first))
    await apply(wallet, Decider().decide_batch, repeat)

    # The inbox saw both message ids before: each gets the original decision again.
    for message in (first, repeat):
        (again,) = decisions(await apply(wallet, on_duplicate, message))
        assert again.model_dump(exclude={"message_id", "sent_at"}) == original.model_dump(
            exclude={"message_id", "sent_at"}
        )
    assert await balance(wallet, customer) == 30


async def test_declines_say_why_in_the_customers_language(wallet: AsyncEngine, vendor: str) -> None:
    afrikaans = await member(wallet, vendor, language="af")
    await apply(wallet, handlers.apply_postings, posting(afrikaans, 20))
    not_member = await member(wallet, vendor, member=False, language="af")
    zulu = await member(wallet, vendor, language="zu")  # no Zulu texts yet: English
    closed = await member(wallet, vendor, status="closed")
    refusing = f"{vendor}-no"
    await apply(wallet, handlers.record_vendors, vendor_changed(refusing, accepts=False, at=NOW))
    stranger = new_customer()

    published = await apply(
        wallet,
        Decider().decide_batch,
        redeem(afrikaans, vendor, 50),
        redeem(not_member, vendor, 1),
        redeem(zulu, vendor, 1),
        redeem(closed, vendor, 1),
        redeem(afrikaans, refusing, 5),
        redeem(stranger, vendor, 1),
    )
    found = [(d.outcome, d.reason_code, d.language, d.reason_text) for d in decisions(published)]
    assert found == [
        ("declined", "insufficient_points", "af", "Onvoldoende punte vir hierdie inwisseling"),
        ("declined", "not_a_member", "af",
         "Die kliënt is nie 'n lid van die beloningsprogram nie"),
        ("declined", "insufficient_points", "en", "Not enough points for this redemption"),
        ("declined", "not_a_member", "en",
         "The customer is not a member of the rewards programme"),
        ("declined", "vendor_not_accepted", "af", "Hierdie handelaar aanvaar nie punte nie"),
        ("declined", "unknown_customer", "en", "We could not find this customer"),
    ]  # fmt: skip
    assert all(d.points == 0 for d in decisions(published))
    assert balance_changes(published) == []
    assert await balance(wallet, afrikaans) == 20
    # A request for an unknown customer does not open an account for them.
    assert await balance(wallet, stranger) is None


async def test_a_batch_decides_in_order_and_never_overdraws(
    wallet: AsyncEngine, vendor: str
) -> None:
    one, two = await member(wallet, vendor), await member(wallet, vendor)
    await apply(wallet, handlers.apply_postings, posting(one, 100), posting(two, 50))
    published = await apply(
        wallet,
        Decider().decide_batch,
        redeem(two, vendor, 30),
        redeem(one, vendor, 60),
        redeem(two, vendor, 30),  # only 20 left
        redeem(one, vendor, 40),
        redeem(one, vendor, 1),  # nothing left
    )
    found = [(d.customer_no, d.outcome, d.points, d.balance_after) for d in decisions(published)]
    assert found == [
        (two, "approved", 30, 20),
        (one, "approved", 60, 40),
        (two, "declined", 0, 20),
        (one, "approved", 40, 0),
        (one, "declined", 0, 0),
    ]
    assert (await balance(wallet, one), await balance(wallet, two)) == (0, 20)
    assert sum((await lots(wallet, one)).values()) == 0
    assert sum((await lots(wallet, two)).values()) == 20
    assert await unbalanced_transactions(wallet) == 0


async def test_expired_lots_do_not_pay_for_a_redemption(wallet: AsyncEngine, vendor: str) -> None:
    customer = await member(wallet, vendor)
    expired = posting(customer, 500, expires=NOW.date() - timedelta(days=1))
    fresh = posting(customer, 100)
    await apply(wallet, handlers.apply_postings, expired, fresh)  # expiry has not run yet
    (decided,) = await decide(wallet, redeem(customer, vendor, 200))
    assert (decided.outcome, decided.reason_code) == ("declined", "insufficient_points")
    (decided,) = await decide(wallet, redeem(customer, vendor, 100))
    assert decided.outcome == "approved"
    assert await lots(wallet, customer) == {expired.posting_id: 500, fresh.posting_id: 0}


# --- reference data -----------------------------------------------------------------------


async def test_an_older_profile_never_overwrites_a_newer_one(
    wallet: AsyncEngine, vendor: str
) -> None:
    customer = new_customer()
    await apply(wallet, handlers.record_profiles, profile(customer, version=2, language="af"))
    await apply(wallet, handlers.record_profiles, profile(customer, version=1, member=False))
    found = await rows(
        wallet,
        "SELECT preferred_language, loyalty_member, profile_version FROM redemption.customers "
        "WHERE customer_no = :c",
        c=customer,
    )
    assert [tuple(r) for r in found] == [("af", True, 2)]


async def test_a_vendor_that_stops_accepting_points_is_declined(
    wallet: AsyncEngine, vendor: str
) -> None:
    customer = await member(wallet, vendor)
    await apply(wallet, handlers.apply_postings, posting(customer, 100))
    stopped = NOW + timedelta(minutes=1)
    await apply(wallet, handlers.record_vendors, vendor_changed(vendor, accepts=False, at=stopped))
    await apply(wallet, handlers.record_vendors, vendor_changed(vendor, at=NOW))  # late, older
    (decided,) = await decide(wallet, redeem(customer, vendor, 10))
    assert decided.reason_code == "vendor_not_accepted"


# --- guarantees in the database -----------------------------------------------------------


async def test_the_database_refuses_an_unbalanced_journal_transaction(
    wallet: AsyncEngine,
) -> None:
    customer = new_customer()

    async def post_ten_against_nine() -> None:
        async with wallet.begin() as conn:
            txn_id = await conn.scalar(
                text("INSERT INTO redemption.journal_transactions (kind, reference, customer_no, "
                     "currency) VALUES ('test', :r, :c, 'points') RETURNING txn_id"),
                {"r": uuid.uuid4().hex, "c": customer},
            )  # fmt: skip
            await conn.execute(
                text("INSERT INTO redemption.journal_entries (txn_id, account, amount) "
                     "VALUES (:t, :a, 10), (:t, 'programme:issued:points', -9)"),
                {"t": txn_id, "a": f"customer:{customer}:points"},
            )  # fmt: skip

    with pytest.raises(DBAPIError, match="unbalanced"):
        await post_ten_against_nine()
    assert await journal(wallet, customer) == {}


async def test_the_runtime_role_cannot_rewrite_the_journal(wallet: AsyncEngine) -> None:
    for statement in (
        "UPDATE redemption.journal_entries SET amount = amount WHERE false",
        "DELETE FROM redemption.allocations WHERE false",
        "UPDATE redemption.redemptions SET points = 0 WHERE false",
    ):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with wallet.begin() as conn:
                await conn.execute(text(statement))
