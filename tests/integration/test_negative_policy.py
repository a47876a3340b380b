"""A clawback of points already spent, on the real database, under each policy of the
programme: a debt that later credits repay first, or a cap with the shortfall journalled.
Never silent: `loyalty verify`'s checks hold for these customers afterwards."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import BalanceChanged, PointsPosted
from services.redemption import handlers
from services.redemption.domain import parse_negative_policy
from shared import verify, verify_cli
from tests.integration.test_wallet import decide, member, request, run

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
EXPIRES = date(NOW.year + 2, 1, 31)
POLICIES = parse_negative_policy("points=debt, tier_points=cap")
CAPPED = parse_negative_policy("points=cap")


def posting(
    customer: str, points: int, currency: str = "points", reverses: str | None = None
) -> PointsPosted:
    posting_id = f"{'earn' if points > 0 else 'reverse'}:{uuid.uuid4().hex}"
    return PointsPosted(
        message_id=f"posted:{posting_id}", sent_at=NOW, posting_id=posting_id,
        customer_no=customer, currency=currency, points=points,  # type: ignore[arg-type]
        kind="earn" if points > 0 else "reversal", source_transaction_id=None,
        reverses_posting_id=reverses, expires_at=EXPIRES if points > 0 else None, rule_id=None,
        rule_version=None, earned_at=NOW, actor=None, reason=None,
    )  # fmt: skip


async def post(
    engine: AsyncEngine, policies: dict[str, Any], *postings: PointsPosted
) -> list[BalanceChanged]:
    handler = partial(handlers.apply_postings, policies=policies)
    published = await run(engine, handler, handlers.POSTED_TOPIC, *postings)
    return [
        BalanceChanged.model_validate_json(o.payload)  # type: ignore[attr-defined]
        for o in published
        if o.topic == "loyalty.wallet.balance-changed.v1"  # type: ignore[attr-defined]
    ]


async def account(engine: AsyncEngine, customer: str, currency: str) -> tuple[int, int]:
    """(balance, points left in lots)."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT a.balance, (SELECT COALESCE(SUM(remaining_points), 0) FROM "
                    "redemption.lots l WHERE l.customer_no = a.customer_no AND l.currency = "
                    "a.currency) AS lots FROM redemption.accounts a "
                    "WHERE a.customer_no = :c AND a.currency = :cur"
                ),
                {"c": customer, "cur": currency},
            )
        ).one()
    return row.balance, row.lots


async def shortfall(engine: AsyncEngine, posting_id: str) -> int:
    """The points a posting journalled to the shortfall account."""
    async with engine.connect() as conn:
        total = await conn.scalar(
            text(
                "SELECT COALESCE(-SUM(e.amount), 0) FROM redemption.journal_entries e "
                "JOIN redemption.journal_transactions t USING (txn_id) WHERE t.kind = 'posting' "
                "AND t.reference = :p AND e.account = 'programme:shortfall:' || t.currency"
            ),
            {"p": posting_id},
        )
    return int(total)


async def violations(
    engine: AsyncEngine, customers: list[str], postings: list[PointsPosted]
) -> list[verify.Violation]:
    """`loyalty verify`'s wallet checks, on these customers' rows only."""
    async with engine.connect() as conn:

        async def rows(sql: str, where: str) -> list[Any]:
            query = f"SELECT * FROM ({sql}) AS q WHERE {where}"
            result = await conn.execute(text(query), {"c": customers})
            return list(result)

        mine = "customer_no = ANY(CAST(:c AS text[]))"
        journal = [verify.JournalTxn(*r) for r in await rows(verify_cli.JOURNAL_SQL, mine)]
        accounts = [verify.WalletAccount(*r) for r in await rows(verify_cli.ACCOUNTS_SQL, mine)]
        lots = [verify.LotRow(*r) for r in await rows(verify_cli.LOTS_SQL, mine)]
        names = [verify.account_name(a.customer_no, a.currency) for a in accounts]
        entries = {
            r[0]: r[1]
            for r in await conn.execute(
                text(f"SELECT * FROM ({verify_cli.ENTRIES_SQL}) AS q WHERE account = ANY(:n)"),
                {"n": names},
            )
        }
    accrual = [
        verify.AccrualPosting(p.posting_id, p.customer_no, p.currency, p.points,
                              p.reverses_posting_id)
        for p in postings
    ]  # fmt: skip
    return [
        *verify.check_postings_once(accrual, journal),
        *verify.check_journal_balanced(journal),
        *verify.check_balances(accounts, entries, {}),
        *verify.check_lots(lots, accrual, journal),
        *verify.check_debts(accounts, lots),
    ]


async def test_a_debt_is_repaid_first_and_a_capped_currency_records_its_shortfall(
    wallet: AsyncEngine,
) -> None:
    customer = await member(wallet)
    points, tier = posting(customer, 100), posting(customer, 100, "tier_points")
    await post(wallet, POLICIES, points, tier)
    (spent,) = await decide(wallet, request(customer, "redeem", 80, f"N-{customer}"))
    assert spent.outcome == "approved"

    # The purchase is refunded after the points were spent: 100 points clawed back.
    clawback = posting(customer, -100, reverses=points.posting_id)
    tier_clawback = posting(customer, -150, "tier_points", reverses=tier.posting_id)
    changes = await post(wallet, POLICIES, clawback, tier_clawback)

    # points: a debt of 80, visible, with empty lots
    assert await account(wallet, customer, "points") == (-80, 0)
    assert await shortfall(wallet, clawback.posting_id) == 0
    # tier points: capped at the 100 the lots held, the other 50 journalled as shortfall
    assert await account(wallet, customer, "tier_points") == (0, 0)
    assert await shortfall(wallet, tier_clawback.posting_id) == 50
    assert [(c.currency, c.change, c.balance) for c in changes] == [
        ("points", -100, -80),
        ("tier_points", -100, 0),
    ]

    # Later earnings repay the debt first; only what is left becomes a lot.
    repay, more = posting(customer, 50), posting(customer, 70)
    await post(wallet, POLICIES, repay)
    assert await account(wallet, customer, "points") == (-30, 0)
    await post(wallet, POLICIES, more)
    assert await account(wallet, customer, "points") == (40, 40)
    (ok,) = await decide(wallet, request(customer, "redeem", 40, f"N2-{customer}"))
    assert (ok.outcome, ok.balance_after) == ("approved", 0)

    postings = [points, tier, clawback, tier_clawback, repay, more]
    assert await violations(wallet, [customer], postings) == []


async def test_under_the_cap_the_balance_stops_at_zero_and_nothing_is_owed(
    wallet: AsyncEngine,
) -> None:
    customer = await member(wallet)
    earned = posting(customer, 100)
    await post(wallet, CAPPED, earned)
    (spent,) = await decide(wallet, request(customer, "redeem", 80, f"C-{customer}"))
    assert spent.outcome == "approved"

    clawback = posting(customer, -100, reverses=earned.posting_id)
    (change,) = await post(wallet, CAPPED, clawback)
    assert (change.change, change.balance) == (-20, 0)
    assert await account(wallet, customer, "points") == (0, 0)
    assert await shortfall(wallet, clawback.posting_id) == 80
    again = await post(wallet, CAPPED, clawback)  # redelivered: no second effect
    assert again == []
    assert await shortfall(wallet, clawback.posting_id) == 80

    # No debt: a later credit is all spendable.
    later = posting(customer, 50)
    await post(wallet, CAPPED, later)
    assert await account(wallet, customer, "points") == (50, 50)
    (refused,) = await decide(wallet, request(customer, "redeem", 51, f"C2-{customer}"))
    assert (refused.outcome, refused.reason_code) == ("declined", "insufficient_points")

    assert await violations(wallet, [customer], [earned, clawback, later]) == []
