"""Re-rating, pure: a corrected rule for a past period gives difference adjustments, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from services.accrual.ledger import Ledger, Member
from services.accrual.rerating import RerateItem, Standing, rerate
from tests.unit.accrual.factories import (
    RETAIL_BLUE,
    card,
    month_cap,
    multiplier,
    programme,
    rule,
)

WRONG = rule("card", points=1, per=1000)
RIGHT = replace(
    WRONG, version=2, multipliers=(multiplier("fuel", "2", vendors=frozenset({"engen"})),)
)
MEMBER = Member(RETAIL_BLUE)


def earned(p, activity, refunds=()):
    """Earn (and refund) with the live ledger; return what stands in points."""
    ledger = Ledger(p)
    ledger.apply([activity, *refunds])
    original = ledger.originals.get((activity.source, activity.transaction_id, "points"))
    if original is None:
        return {}
    return {"points": Standing(original.posting_id, original.earned, original.reversed,
                               original.rule_points, original.bonus_points)}  # fmt: skip


def test_a_corrected_rule_posts_only_the_difference_and_a_second_run_nothing() -> None:
    fuel = card(30_000, vendor="engen", tx="CT1")
    standing = earned(programme(WRONG), fuel)
    item = RerateItem(fuel, MEMBER, standing)
    [line] = rerate(programme(RIGHT), [item], {})
    assert (line.currency, line.earned_delta, line.reversed_delta, line.points) == (
        "points",
        30,
        0,
        30,
    )
    assert (line.rule_id, line.rule_version) == ("card", 2)
    assert line.expires_at is not None

    after = {"points": replace(standing["points"], earned=60, rule_points=60)}
    assert rerate(programme(RIGHT), [RerateItem(fuel, MEMBER, after)], {}) == []


def test_refunds_are_replayed_on_the_rerated_earning() -> None:
    fuel = card(30_000, vendor="engen", tx="CT1")
    refund = card(15_000, tx="RF1", kind="refund", original="CT1")
    standing = earned(programme(WRONG), fuel, [refund])
    assert (standing["points"].earned, standing["points"].reversed) == (30, 15)
    [line] = rerate(programme(RIGHT), [RerateItem(fuel, MEMBER, standing, [15_000])], {})
    # 60 earned, half refunded: the net goes from 15 to 30.
    assert (line.earned_delta, line.reversed_delta, line.points) == (30, 15, 15)


def test_a_lower_rate_takes_points_back_from_the_original_lot() -> None:
    fuel = card(30_000, vendor="engen", tx="CT1")
    standing = earned(programme(RIGHT), fuel)
    [line] = rerate(programme(WRONG), [RerateItem(fuel, MEMBER, standing)], {})
    assert line.points == -30
    assert line.reverses_posting_id == "earn:card:CT1:points"
    assert line.expires_at is None


def test_a_transaction_that_earned_nothing_can_earn_on_rerating() -> None:
    excluded = replace(WRONG, minimum_amount_cents=50_000)
    small = card(30_000, tx="CT1")
    assert earned(programme(excluded), small) == {}
    [line] = rerate(programme(WRONG), [RerateItem(small, MEMBER, {})], {})
    assert (line.points, line.reverses_posting_id) == (30, None)


def test_period_caps_fill_up_in_transaction_order() -> None:
    capped = replace(RIGHT, cap_per_period=month_cap(50))
    first = card(30_000, vendor="engen", tx="CT1", at=datetime(2026, 11, 2, tzinfo=UTC))
    second = card(30_000, vendor="engen", tx="CT2", at=datetime(2026, 11, 3, tzinfo=UTC))
    items = [RerateItem(second, MEMBER, earned(programme(WRONG), second)),
             RerateItem(first, MEMBER, earned(programme(WRONG), first))]  # fmt: skip
    lines = rerate(programme(capped), items, {})
    # The first of the month takes 50 of the 60 it would earn; nothing is left for the second.
    assert [(x.source_transaction_id, x.points) for x in lines] == [("CT1", 20), ("CT2", -30)]
