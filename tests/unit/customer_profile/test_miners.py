"""The miners' pure parts: cohort lots, promotion parsing and windows, tier moves."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.loyalty import ProfileChanged, TransactionEnriched
from services.customer_profile.miners import MINERS, miner
from services.customer_profile.miners.base import month_of
from services.customer_profile.miners.cli import promotion_window
from services.customer_profile.miners.cohorts import cohort_table, replay
from services.customer_profile.miners.promotion import (
    PromotionWindow,
    lift,
    promotion_of,
    signed_spend,
)
from services.customer_profile.miners.tiers import distribution, month_ends, tier_moves
from services.customer_profile.tables import metadata

JAN, FEB, MAR, APR = (date(2026, m, 1) for m in (1, 2, 3, 4))


def test_every_miner_has_its_own_name_group_inbox_namespace_and_report_tables() -> None:
    names = [m.name for m in MINERS]
    assert sorted(names) == ["cohorts", "promotion", "tiers"]
    assert len({m.group for m in MINERS}) == len({m.inbox_prefix for m in MINERS}) == 3
    owned = [t.name for m in MINERS for t in m.tables]
    assert len(owned) == len(set(owned))  # no table shared between miners
    assert all(name.startswith("report_") for name in owned)
    assert all(f"customer_profile.{name}" in metadata.tables for name in owned)
    assert miner("tiers").topics == ["loyalty.customer.profile-changed.v1"]
    with pytest.raises(KeyError, match="unknown miner"):
        miner("nope")


def test_months_are_local_to_the_programme() -> None:
    # 23:30 UTC on 31 January is 01:30 on 1 February in Johannesburg.
    assert month_of(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == FEB
    assert month_of(datetime(2026, 1, 31, 21, 30, tzinfo=UTC)) == JAN


def test_debits_take_the_oldest_lots_first_and_a_cancel_gives_back_the_newest() -> None:
    books, flows = replay(
        [
            ("c1", "earn", 1000, JAN),
            ("c1", "earn", 500, FEB),
            ("c1", "redemption", -1200, MAR),  # 1000 of January, 200 of February
            ("c1", "expiry", -100, APR),  # of February
            ("c1", "cancel", 250, APR),  # 200 back to February, 50 to January
            ("c1", "hold", 0, APR),  # holds do not move the balance
        ]
    )
    t = flows.totals
    assert (t[(JAN, JAN)]["issued"], t[(FEB, FEB)]["issued"]) == (1000, 500)
    assert (t[(JAN, MAR)]["redeemed"], t[(FEB, MAR)]["redeemed"]) == (1000, 200)
    assert t[(FEB, APR)] == {"issued": 0, "redeemed": -200, "expired": 100, "reversed": 0}
    assert t[(JAN, APR)]["redeemed"] == -50
    lots = {lot.cohort: (lot.remaining, lot.redeemed) for lot in books["c1"].lots}
    assert lots == {JAN: (50, 950), FEB: (400, 0)}


def test_a_debit_beyond_every_lot_is_a_debt_the_next_credit_repays() -> None:
    books, flows = replay(
        [
            ("c1", "earn", 100, JAN),
            ("c1", "reversal", -150, FEB),  # 50 more than there is
            ("c1", "earn", 80, MAR),
        ]
    )
    assert books["c1"].debt == 0
    assert flows.totals[(JAN, FEB)]["reversed"] == 100
    assert flows.totals[(MAR, MAR)] == {"issued": 80, "redeemed": 0, "expired": 0, "reversed": 50}
    assert books["c1"].lots[1].remaining == 30


def test_customers_do_not_share_lots() -> None:
    books, flows = replay([("a", "earn", 100, JAN), ("b", "redemption", -40, FEB)])
    assert books["a"].lots[0].remaining == 100
    assert books["b"].debt == 40
    assert (JAN, FEB) not in flows.totals


def _flow(cohort: date, period: date, **kinds: int) -> dict[str, Any]:
    base = {"issued": 0, "redeemed": 0, "expired": 0, "reversed": 0}
    return {"cohort": cohort, "period": period, **base, **kinds}


def test_the_cohort_table_is_cumulative_month_by_month_with_shares_of_the_issue() -> None:
    rows = [
        _flow(JAN, JAN, issued=1000),
        _flow(JAN, MAR, redeemed=250),
        _flow(JAN, APR, expired=100, reversed=50),
        _flow(FEB, FEB, issued=400),
    ]
    [jan, feb] = cohort_table(rows, date(2026, 4, 15))
    assert [m["period"] for m in jan["months"]] == [JAN, FEB, MAR, APR]
    assert [m["outstanding"] for m in jan["months"]] == [1000, 1000, 750, 600]
    assert (jan["redeemed_share"], jan["expired_share"], jan["outstanding_share"]) == (
        0.25,
        0.1,
        0.6,
    )
    assert (feb["outstanding_share"], len(feb["months"])) == (1.0, 3)
    # as of March: April's expiry has not happened yet
    [jan_march, _] = cohort_table(rows, date(2026, 3, 31))
    assert jan_march["outstanding"] == 750


def test_the_promotion_is_read_from_the_earnings_reason() -> None:
    reason = "card_purchase under agreement retail, promotion black-friday-2026 (+120)"
    assert promotion_of(reason) == ("black-friday-2026", 120)
    assert promotion_of("card_purchase under agreement retail") is None
    assert promotion_of(None) is None


def _enriched(**changes: Any) -> TransactionEnriched:
    data = {
        "message_id": "m1",
        "sent_at": "2026-11-27T10:00:00+02:00",
        "source": "card",
        "source_message_id": "s1",
        "transaction_id": "T1",
        "status": "posted",
        "kind": "purchase",
        "original_transaction_id": None,
        "customer_no": "1000000001",
        "account_no": None,
        "amount_cents": 12_345,
        "currency": "ZAR",
        "transaction_at": "2026-11-27T10:00:00+02:00",
        "descriptor": "MAKRO",
        "mcc": "5411",
        "channel": "card",
        "direction": "debit",
        "vendor_id": "makro",
        "vendor_name": "Makro",
        "vendor_category": "groceries",
        "partner": True,
        "match_method": "name",
        "match_confidence": 90,
    }
    return TransactionEnriched.model_validate({**data, **changes})


def test_spend_counts_posted_purchases_less_refunds_at_known_vendors() -> None:
    assert signed_spend(_enriched()) == 12_345
    assert signed_spend(_enriched(kind="refund", direction="credit")) == -12_345
    assert signed_spend(_enriched(status="authorized")) == 0
    assert signed_spend(_enriched(vendor_id=None, vendor_name=None)) == 0


def test_the_period_before_a_promotion_is_as_long_as_the_promotion() -> None:
    window = PromotionWindow("p", date(2026, 11, 27), date(2026, 11, 30), ("makro",))
    assert window.before == (date(2026, 11, 23), date(2026, 11, 26))
    assert lift(150, 100) == 0.5
    assert lift(10, 0) is None


def _profile(customer: str, version: int, tier: str, day: int, **changes: Any) -> ProfileChanged:
    data = {
        "message_id": f"profile:{customer}:{version}",
        "sent_at": "2026-03-01T00:00:00+00:00",
        "customer_no": customer,
        "status": "active",
        "loyalty_member": True,
        "first_name": "A",
        "last_name": "B",
        "preferred_language": "en",
        "segment": "retail",
        "tier": tier,
        "cashback_account_no": None,
        "profile_version": version,
        "changed_at": datetime(2026, 3, day, 10, tzinfo=UTC).isoformat(),
    }
    return ProfileChanged.model_validate({**data, **changes})


def test_tier_moves_count_a_change_of_tier_once_and_ignore_older_versions() -> None:
    standings: dict[str, Any] = {}
    moves = tier_moves(
        standings,
        [
            _profile("a", 2, "silver", 5),
            _profile("a", 1, "blue", 1),
            _profile("a", 3, "silver", 6),  # a name change: no move
            _profile("b", 1, "blue", 2),
            _profile("b", 2, "blue", 9, status="closed"),  # leaves the count
        ],
    )
    assert moves == {
        (date(2026, 3, 1), "blue"): [1, 0],
        (date(2026, 3, 5), "blue"): [0, 1],
        (date(2026, 3, 5), "silver"): [1, 0],
        (date(2026, 3, 2), "blue"): [1, 0],
        (date(2026, 3, 9), "blue"): [0, 1],
    }
    assert tier_moves(standings, [_profile("a", 2, "gold", 7)]) == {}  # replayed: no effect


def test_the_distribution_is_the_running_count_at_every_month_end() -> None:
    assert month_ends(date(2026, 1, 20), date(2026, 3, 10)) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 10),
    ]
    rows = [
        {"day": date(2026, 1, 5), "tier": "blue", "joined": 3, "left": 0},
        {"day": date(2026, 2, 10), "tier": "blue", "joined": 0, "left": 1},
        {"day": date(2026, 2, 10), "tier": "gold", "joined": 1, "left": 0},
    ]
    series = distribution(rows, ["blue", "silver", "gold"], date(2026, 2, 28))
    assert [s["as_of"] for s in series] == [date(2026, 1, 31), date(2026, 2, 28)]
    assert series[0]["tiers"]["blue"] == {"members": 3, "share": 1.0}
    assert {t: v["members"] for t, v in series[1]["tiers"].items()} == {
        "blue": 2,
        "silver": 0,
        "gold": 1,
    }
    assert series[1]["members"] == 3


def test_a_promotions_dates_and_vendors_come_from_the_programme_unless_given() -> None:
    args = argparse.Namespace(
        promotion_id="black-friday-2026", programme=None, starts=None, ends=None, vendors=None
    )
    window = promotion_window(args)
    assert (window.starts, window.ends) == (date(2026, 11, 27), date(2026, 11, 30))
    assert window.vendors == ("builders", "makro", "mr_price", "takealot")
    args.vendors, args.starts = "makro", date(2026, 11, 28)
    window = promotion_window(args)
    assert (window.starts, window.vendors) == (date(2026, 11, 28), ("makro",))
    with pytest.raises(SystemExit, match="not in the programme"):
        promotion_window(argparse.Namespace(
            promotion_id="nope", programme=None, starts=None, ends=None, vendors=None
        ))  # fmt: skip


def test_the_lane_applies_the_miners_that_ride_it_after_its_own_handler() -> None:
    from services.customer_profile import app
    from services.customer_profile.miners.runner import with_miners

    riding = {m.name for m in MINERS if m.rides_lane}
    assert riding == {"cohorts", "promotion"}  # tiers reads profile changes, not a lane topic
    own = {s.topic: s.handler for s in app.SUBSCRIPTIONS}
    wrapped = {s.topic: s.handler for s in app.definition().subscriptions}
    assert own.keys() == wrapped.keys()
    mined = {t for m in MINERS if m.rides_lane for t in m.topics}
    assert mined == {
        "loyalty.wallet.balance-changed.v1",
        "loyalty.points.posted.v1",
        "loyalty.transaction.enriched.v1",
    }
    for topic, handler in own.items():
        assert (wrapped[topic] is handler) == (topic not in mined)
    lane_without_balances = [s for s in app.SUBSCRIPTIONS if s.topic not in mined][:2]
    with pytest.raises(ValueError, match="miner cohorts rides the lane but the lane lacks"):
        with_miners(lane_without_balances, MINERS)


def test_under_the_service_s_own_group_the_miners_keep_their_groups() -> None:
    """run_miners names a miner's groups after the lane's group: under the default one they
    are the groups installed miners have committed offsets in (a rename would mine anew)."""
    from shared.runtime import consumer_group

    assert [f"{consumer_group('customer_profile')}.miner.{m.name}" for m in MINERS] == [
        m.group for m in MINERS
    ]


def test_the_hand_over_keeps_what_the_lane_committed_and_closes_at_what_it_has_not() -> None:
    """Offsets 5..10 of one partition, the lane's group committed up to 8: 6 was
    dead-lettered by the lane (skipped), 8 is committed in its inbox beyond its offset (kept),
    9 is the first it has not got to (the partition closes there: the lane applies 9 on)."""
    from types import SimpleNamespace

    from aiokafka import TopicPartition

    from services.customer_profile.miners.runner import _applied_by_lane
    from shared.messaging.consumer import _Valid

    topic = "loyalty.wallet.balance-changed.v1"
    tp = TopicPartition(topic, 0)
    valid = [
        _Valid(
            SimpleNamespace(topic=topic, partition=0, offset=n, key=None, value=b""),  # type: ignore[arg-type]
            SimpleNamespace(message_id=f"m{n}"),  # type: ignore[arg-type]
            b"",
        )
        for n in range(5, 11)
    ]
    committed = {(topic, f"m{n}") for n in (5, 7, 8, 10)}
    open_ = {tp, TopicPartition(topic, 1)}
    keep, closing = _applied_by_lane(valid, committed, open_, {tp: 8})
    assert [v.record.offset for v in keep] == [5, 7, 8]
    assert [v.record.offset for v in closing] == [9]
    assert open_ == {TopicPartition(topic, 1)}
