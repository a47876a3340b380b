"""A batch through the ledger: earn, pending, confirm, cancel, reverse, hold. No database."""

from __future__ import annotations

from services.accrual.ledger import Ledger, Member
from services.accrual.rules.model import CustomerClass
from tests.unit.accrual.factories import account, card, debit_order, default_programme

PROGRAMME = default_programme()


def run(*activities, ledger: Ledger | None = None) -> Ledger:
    ledger = ledger or Ledger(PROGRAMME)
    ledger.apply(activities)
    return ledger


def postings(ledger: Ledger, currency: str = "points") -> list[tuple[str, int]]:
    return [(e.kind, e.points) for e in ledger.earnings if e.currency == currency]


def pending_states(ledger: Ledger) -> list[tuple[str, str, int]]:
    return [(c.pending.currency, c.state, c.pending.points) for c in ledger.pending_changes]


def test_a_posted_purchase_earns_in_both_currencies_with_rule_and_version() -> None:
    ledger = run(card(25_050, tx="CT1"))
    [points, tier] = ledger.earnings
    assert (points.posting_id, points.points, points.rule_id, points.rule_version) == (
        "earn:card:CT1:points", 25, "card-points-standard", 1,
    )  # fmt: skip
    assert points.expires_at is not None
    assert (tier.currency, tier.points, tier.expires_at) == ("tier_points", 25, None)
    assert points.agreement_id == "standard"


def test_a_redelivered_transaction_earns_once() -> None:
    purchase = card(25_050, tx="CT1")
    assert len(run(purchase, purchase).earnings) == 2
    ledger = Ledger(PROGRAMME, seen={("card", "CT1", "posted")})
    assert run(purchase, ledger=ledger).earnings == []


def test_an_authorization_makes_points_pending_and_its_posting_confirms_them() -> None:
    ledger = run(card(25_050, tx="CT1", status="authorized"))
    assert ledger.earnings == []
    assert pending_states(ledger) == [("points", "created", 25), ("tier_points", "created", 25)]
    run(card(26_000, tx="CT1"), ledger=ledger)
    assert postings(ledger) == [("confirmation", 26)]
    assert pending_states(ledger)[2:] == [
        ("points", "confirmed", 25),
        ("tier_points", "confirmed", 25),
    ]


def test_a_reversed_authorization_cancels_its_pending_points() -> None:
    ledger = run(
        card(25_050, tx="CT1", status="authorized"), card(25_050, tx="CT1", status="reversed")
    )
    assert ledger.earnings == []
    assert [s for _, s, _ in pending_states(ledger)] == [
        "created",
        "created",
        "cancelled",
        "cancelled",
    ]
    assert ledger.holds == []


def test_a_posting_after_the_lapse_earns_normally() -> None:
    ledger = run(card(25_050, tx="CT1", status="authorized"))
    for change in ledger.pending_changes:
        change.pending.state = "cancelled"  # the lapse run got there first
    run(card(25_050, tx="CT1"), ledger=ledger)
    assert postings(ledger) == [("earn", 25)]


def test_partial_refunds_summing_past_the_original_never_take_back_more() -> None:
    ledger = run(
        card(10_000, tx="CT1"),
        card(6_000, tx="RF1", kind="refund", original="CT1"),
        card(6_000, tx="RF2", kind="refund", original="CT1"),
    )
    assert postings(ledger) == [("earn", 10), ("reversal", -6), ("reversal", -4)]
    assert all(
        e.reverses_posting_id == "earn:card:CT1:points"
        for e in ledger.earnings[2:]
        if e.currency == "points"
    )


def test_a_double_refund_takes_back_once() -> None:
    ledger = run(
        card(10_000, tx="CT1"),
        card(10_000, tx="RF1", kind="refund", original="CT1"),
        card(10_000, tx="RF2", kind="refund", original="CT1"),
    )
    assert postings(ledger) == [("earn", 10), ("reversal", -10)]


def test_a_refund_before_its_purchase_is_held_then_applied() -> None:
    ledger = run(card(5_000, tx="RF1", kind="refund", original="CT1"))
    assert [h.activity.transaction_id for h in ledger.holds] == ["RF1"]
    assert "CT1 not seen yet" in ledger.holds[0].reason
    assert ledger.earnings == []
    run(card(10_000, tx="CT1"), ledger=ledger)
    assert postings(ledger) == [("earn", 10), ("reversal", -5)]
    assert [(r.key, r.state) for r in ledger.resolutions] == [
        (("card", "RF1", "posted"), "applied")
    ]


def test_a_disputed_debit_order_reverses_the_original_whole_at_most_once() -> None:
    original = debit_order(50_000, tx="DO-20261120-7")
    rv = debit_order(50_000, tx="DO-20261201-3", status="reversed", kind="reversal",
                     original="DO-20261120-7")  # fmt: skip
    rv_again = debit_order(50_000, tx="DO-20261202-9", status="reversed", kind="reversal",
                           original="DO-20261120-7")  # fmt: skip
    ledger = run(original, rv, rv_again)
    assert postings(ledger) == [("earn", 50), ("reversal", -50)]
    assert postings(ledger, "tier_points") == [("earn", 50), ("reversal", -50)]


def test_a_reversal_whose_original_is_unknown_is_held_not_dropped() -> None:
    rv = debit_order(50_000, tx="DO-20261201-3", status="reversed", kind="reversal",
                     original="DO-20261001-1")  # fmt: skip
    ledger = run(rv)
    assert [h.activity.transaction_id for h in ledger.holds] == ["DO-20261201-3"]
    assert ledger.earnings == []


def test_a_reversal_of_an_original_that_earned_nothing_is_not_held() -> None:
    ledger = run(
        debit_order(50_000, tx="DO-1", partner=False),
        debit_order(50_000, tx="DO-2", status="reversed", kind="reversal", original="DO-1"),
    )
    assert ledger.earnings == []
    assert ledger.holds == []


def test_an_account_reversal_takes_back_everything() -> None:
    ledger = run(
        account(50_000, tx="AT1"),
        account(50_000, tx="AT2", kind="reversal", original="AT1", direction="credit"),
    )
    assert postings(ledger) == [("earn", 25), ("reversal", -25)]


def test_a_non_member_earns_nothing_but_is_still_known() -> None:
    members = {"C9": Member(CustomerClass("retail", "blue"), earns=False)}
    ledger = run(
        card(10_000, tx="CT1", customer="C9"),
        card(10_000, tx="RF1", kind="refund", original="CT1", customer="C9"),
        ledger=Ledger(PROGRAMME, members=members),
    )
    assert ledger.earnings == []
    assert ledger.holds == []


def test_an_authorization_arriving_after_its_reversal_creates_nothing_pending() -> None:
    ledger = run(card(25_050, tx="CT1", status="reversed"))
    assert len(ledger.holds) == 1
    run(card(25_050, tx="CT1", status="authorized"), ledger=ledger)
    assert ledger.pending_changes == []
    assert [r.state for r in ledger.resolutions] == ["applied"]


def test_a_voided_refund_changes_nothing() -> None:
    ledger = run(card(10_000, tx="CT1"), card(5_000, tx="RF1", kind="refund", status="reversed",
                                              original="CT1"))  # fmt: skip
    assert postings(ledger) == [("earn", 10)]
    assert ledger.holds == []


def test_period_caps_count_earlier_purchases_in_the_batch() -> None:
    # The standard card rule caps points at 30,000 a month, 10,000 per transaction.
    ledger = run(*(card(100_000_000) for _ in range(4)))
    assert [p for _, p in postings(ledger)] == [10_000, 10_000, 10_000]
