"""The invariants of `loyalty verify`: a healthy ledger passes, each kind of damage is named."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.verify import (
    AccrualPosting,
    DeadLetterRow,
    JournalTxn,
    LotRow,
    OutboxState,
    RedemptionRow,
    Report,
    Snapshot,
    ViewBalance,
    WalletAccount,
    check,
)

ANNA, BEN = "C00000000001", "C00000000002"


def healthy() -> Snapshot:
    """Anna earned 100, redeemed 30, had 20 reversed, holds 15, redeemed 10 and cancelled it;
    Ben earned 10, spent it, then had it reversed: his balance is -10, a debt."""
    accrual = [
        AccrualPosting("earn:card:T1:points", ANNA, "points", 100),
        AccrualPosting("reverse:card:R1:posted:points", ANNA, "points", -20, "earn:card:T1:points"),
        AccrualPosting("earn:card:T2:points", BEN, "points", 10),
        AccrualPosting("reverse:card:R2:posted:points", BEN, "points", -10, "earn:card:T2:points"),
    ]
    journal = [
        JournalTxn(1, "posting", "earn:card:T1:points", ANNA, "points", 0, 100, 2),
        JournalTxn(2, "redemption", "1", ANNA, "points", 0, -30, 2),
        JournalTxn(3, "posting", "reverse:card:R1:posted:points", ANNA, "points", 0, -20, 2),
        JournalTxn(4, "posting", "earn:card:T2:points", BEN, "points", 0, 10, 2),
        JournalTxn(5, "redemption", "2", BEN, "points", 0, -10, 2),
        JournalTxn(6, "posting", "reverse:card:R2:posted:points", BEN, "points", 0, -10, 2),
        JournalTxn(7, "redemption", "5", ANNA, "points", 0, -10, 2),
        JournalTxn(8, "cancel", "5", ANNA, "points", 0, 10, 2),
    ]
    entries = {
        f"customer:{ANNA}:points": 50,
        f"customer:{BEN}:points": -10,
        "programme:issued:points": -80,
        "programme:redeemed:points": 40,
    }
    return Snapshot(
        accrual=accrual,
        journal=journal,
        account_entries=entries,
        accounts=[WalletAccount(ANNA, "points", 50, 15), WalletAccount(BEN, "points", -10, 0)],
        lots=[
            LotRow(1, ANNA, "points", "earn:card:T1:points", 100, 50, 30, cancelled=10),
            LotRow(2, BEN, "points", "earn:card:T2:points", 10, 0, 10),
        ],
        redemptions=[
            RedemptionRow(1, ANNA, "redeem", "approved", 30, 30),
            RedemptionRow(2, BEN, "redeem", "approved", 10, 10),
            RedemptionRow(3, BEN, "redeem", "declined", 0, 0),
            RedemptionRow(4, ANNA, "authorize", "approved", 15, 0),
            RedemptionRow(5, ANNA, "redeem", "approved", 10, 10, returned=10),
            RedemptionRow(6, ANNA, "cancel", "approved", 10, 0),
        ],
        open_holds={(ANNA, "points"): 15},
        view_balances=[ViewBalance(ANNA, "points", 50, 15), ViewBalance(BEN, "points", -10, 0)],
        outboxes=[OutboxState("accrual", 0, None), OutboxState("redemption", 3, 0.4)],
        dead_letters=[
            DeadLetterRow("esb.card.transaction.v1.dlq", 0, 0, "esb.card.transaction.v1", "0",
                          "17", "vendor_matching", "invalid_json: EOF while parsing")
        ],
    )  # fmt: skip


def checks_failing(snapshot: Snapshot) -> list[str]:
    return sorted({v.check for v in check(snapshot)})


def test_a_healthy_ledger_has_no_violation() -> None:
    assert check(healthy()) == []


def test_a_posting_accrual_made_that_never_reached_the_wallet_is_named() -> None:
    lost = AccrualPosting("earn:card:T9:points", ANNA, "points", 7)
    s = healthy()
    violations = check(replace(s, accrual=[*s.accrual, lost]))
    assert ("posting_in_wallet", "posting earn:card:T9:points") in {
        (v.check, v.subject) for v in violations
    }
    # the per-customer totals disagree too
    assert {v.check for v in violations} == {"posting_in_wallet", "earnings_equal_credits"}


def test_a_posting_applied_twice_is_named() -> None:
    s = healthy()
    again = JournalTxn(7, "posting", "earn:card:T2:points", BEN, "points", 0, 10, 2)
    violations = check(replace(s, journal=[*s.journal, again]))
    assert any(
        v.check == "posting_in_wallet" and "applied 2x" in v.detail and "T2" in v.subject
        for v in violations
    )


def test_wallet_credit_without_an_accrual_posting_is_named() -> None:
    s = healthy()
    violations = check(replace(s, accrual=[p for p in s.accrual if "T2" not in p.posting_id]))
    assert any(
        v.check == "posting_in_wallet" and v.detail == "in the wallet, not in accrual"
        for v in violations
    )


def test_a_posting_the_wallet_applied_with_other_points_is_named() -> None:
    s = healthy()
    accrual = [replace(p, points=11) if p.posting_id == "earn:card:T2:points" else p
               for p in s.accrual]  # fmt: skip
    assert "posting_in_wallet" in checks_failing(replace(s, accrual=accrual))


def test_an_unbalanced_journal_transaction_is_named() -> None:
    s = healthy()
    journal = [replace(t, total=5) if t.txn_id == 2 else t for t in s.journal]
    violations = check(replace(s, journal=journal))
    assert [(v.check, v.subject) for v in violations] == [
        ("journal_balanced", "journal txn 2 (redemption 1)")
    ]


def test_a_balance_edited_behind_the_journals_back_is_named() -> None:
    s = healthy()
    accounts = [replace(a, balance=500) if a.customer_no == ANNA else a for a in s.accounts]
    violations = check(replace(s, accounts=accounts))
    subjects = {(v.check, v.subject) for v in violations}
    assert ("balance_is_journal", f"account customer:{ANNA}:points") in subjects
    assert ("customer_view", f"customer {ANNA} points") in subjects


def test_journal_entries_for_an_account_that_does_not_exist_are_named() -> None:
    s = healthy()
    violations = check(replace(s, accounts=[a for a in s.accounts if a.customer_no != BEN]))
    assert ("balance_is_journal", f"account customer:{BEN}:points") in {
        (v.check, v.subject) for v in violations
    }


@pytest.mark.parametrize(
    ("remaining", "allocated"),
    [(-1, 30), (101, 30), (90, 30)],  # negative, above initial, gave less than it allocated
)
def test_lots_out_of_bounds_are_named(remaining: int, allocated: int) -> None:
    s = healthy()
    lots = [replace(lot, remaining=remaining, allocated=allocated) if lot.lot_id == 1 else lot
            for lot in s.lots]  # fmt: skip
    assert "lots" in checks_failing(replace(s, lots=lots))


def test_a_credit_without_its_lot_is_named() -> None:
    s = healthy()
    violations = check(replace(s, lots=[lot for lot in s.lots if lot.lot_id != 2]))
    assert ("lots", "posting earn:card:T2:points") in {(v.check, v.subject) for v in violations}


def with_carl(lot_remaining: int, balance: int) -> Snapshot:
    """Carl earned 40 and had all 40 reversed; his lot should be empty, his balance 0."""
    s = healthy()
    carl = "C00000000003"
    return replace(
        s,
        accrual=[
            *s.accrual,
            AccrualPosting("earn:card:T3:points", carl, "points", 40),
            AccrualPosting("reverse:card:R3:posted:points", carl, "points", -40,
                           "earn:card:T3:points"),
        ],
        journal=[
            *s.journal,
            JournalTxn(9, "posting", "earn:card:T3:points", carl, "points", 0, 40, 2),
            JournalTxn(10, "posting", "reverse:card:R3:posted:points", carl, "points", 0, -40, 2),
        ],
        account_entries={**s.account_entries, f"customer:{carl}:points": balance},
        accounts=[*s.accounts, WalletAccount(carl, "points", balance, 0)],
        lots=[*s.lots, LotRow(3, carl, "points", "earn:card:T3:points", 40, lot_remaining, 0)],
    )  # fmt: skip


def test_a_reversal_that_emptied_its_original_lot_is_healthy() -> None:
    assert check(with_carl(lot_remaining=0, balance=0)) == []


def test_a_reversal_that_spared_its_original_lot_is_named() -> None:
    # The wallet took the 40 points from nowhere (a debt) while the lot still held them: what
    # happens when a reversal is applied before the lot of its credit exists.
    violations = check(with_carl(lot_remaining=40, balance=0))
    assert {(v.check, v.subject) for v in violations} == {
        ("reversal_from_original_lot", "lot 3 (earn:card:T3:points)"),
        ("lots_cover_balance", "account customer:C00000000003:points"),
    }


def test_lots_must_hold_exactly_a_positive_balance() -> None:
    s = healthy()
    lots = [replace(lot, remaining=45) if lot.lot_id == 1 else lot for lot in s.lots]
    violations = check(replace(s, lots=lots))
    assert [(v.check, v.detail) for v in violations] == [
        ("lots_cover_balance", "lots hold 45, balance 50")
    ]


def test_a_debt_leaves_no_points_in_lots() -> None:
    s = healthy()
    # Ben owes 10 points yet his lot still has 5 to spend.
    lots = [replace(lot, remaining=5, allocated=5) if lot.lot_id == 2 else lot for lot in s.lots]
    assert "lots_cover_balance" in checks_failing(replace(s, lots=lots))


def test_held_points_are_the_open_holds() -> None:
    s = healthy()
    assert checks_failing(replace(s, open_holds={})) == ["held_is_open_holds"]
    stray = {**s.open_holds, ("C00000000009", "points"): 5}
    assert checks_failing(replace(s, open_holds=stray)) == ["held_is_open_holds"]


def test_a_redemption_whose_allocations_do_not_add_up_is_named() -> None:
    s = healthy()
    redemptions = [replace(r, allocated=20) if r.redemption_id == 1 else r for r in s.redemptions]
    violations = check(replace(s, redemptions=redemptions))
    assert [v.check for v in violations] == ["redemption_allocations"]
    assert "redemption 1" in violations[0].subject


def test_a_declined_redemption_that_took_points_is_named() -> None:
    s = healthy()
    debit = JournalTxn(8, "redemption", "3", BEN, "points", 0, -5, 2)
    assert "redemption_allocations" in checks_failing(replace(s, journal=[*s.journal, debit]))


def test_a_redemption_debit_without_a_redemption_is_named() -> None:
    s = healthy()
    violations = check(replace(s, redemptions=[r for r in s.redemptions if r.redemption_id != 2]))
    assert any(v.subject == "journal txn 5" for v in violations)


def test_a_cancel_that_gave_back_more_than_was_spent_is_named() -> None:
    s = healthy()
    redemptions = [replace(r, returned=12) if r.redemption_id == 5 else r for r in s.redemptions]
    journal = [replace(t, customer_amount=12) if t.txn_id == 8 else t for t in s.journal]
    violations = check(replace(s, redemptions=redemptions, journal=journal))
    assert any(v.check == "redemption_allocations" and "redemption 5" in v.subject
               for v in violations)  # fmt: skip


def test_points_credited_back_without_a_cancellation_are_named() -> None:
    s = healthy()
    redemptions = [replace(r, returned=None) if r.redemption_id == 5 else r for r in s.redemptions]
    violations = check(replace(s, redemptions=redemptions))
    assert ("redemption_allocations", "credited back 10 without a cancellation") in {
        (v.check, v.detail) for v in violations
    }


def test_a_capture_spends_like_a_redeem() -> None:
    s = healthy()
    capture = RedemptionRow(7, ANNA, "capture", "approved", 15, 0)  # took nothing from lots
    violations = check(replace(s, redemptions=[*s.redemptions, capture]))
    assert {v.detail for v in violations} == {
        "points 15, allocations sum to 0",
        "points 15, debited 0 in 0 transaction(s)",
    }


def test_earnings_and_credits_per_customer_must_agree() -> None:
    s = healthy()
    extra = AccrualPosting("adjust:A1", BEN, "tier_points", 5)
    violations = check(replace(s, accrual=[*s.accrual, extra]))
    assert ("earnings_equal_credits", f"customer {BEN} tier_points") in {
        (v.check, v.subject) for v in violations
    }


def test_the_customer_view_must_show_the_wallets_balance() -> None:
    s = healthy()
    view = [*s.view_balances, ViewBalance(BEN, "tier_points", 3, 0)]
    violations = check(replace(s, view_balances=view))
    assert [(v.check, v.detail) for v in violations] == [
        ("customer_view", "view shows 3 (held 0), wallet no account")
    ]


def test_an_old_unsent_outbox_row_is_a_violation_a_fresh_one_is_not() -> None:
    s = healthy()
    stale = [OutboxState("customer_profile", 2, 42.0)]
    violations = check(replace(s, outboxes=[*s.outboxes, *stale]))
    assert [(v.check, v.subject) for v in violations] == [
        ("outbox_drained", "outbox customer_profile")
    ]
    assert check(replace(s, outboxes=stale), outbox_max_age_s=60) == []


def test_a_dead_letter_without_a_reason_is_unexplained() -> None:
    s = healthy()
    silent = DeadLetterRow("loyalty.points.posted.v1.dlq", 3, 9, None, None, None, None, None)
    assert checks_failing(replace(s, dead_letters=[*s.dead_letters, silent])) == [
        "dead_letters_explained"
    ]


def test_the_report_lists_violations_and_dead_letters_with_their_reasons() -> None:
    s = healthy()
    accounts = [replace(a, balance=500) if a.customer_no == ANNA else a for a in s.accounts]
    violations = check(replace(s, accounts=accounts))
    report = Report(violations, {"accounts": 2}, list(s.outboxes), list(s.dead_letters), {})
    assert not report.ok
    text = "\n".join(report.lines())
    assert f"customer:{ANNA}:points" in text
    assert "esb.card.transaction.v1 invalid_json" in text
    as_json = report.to_json()
    assert as_json["ok"] is False
    assert as_json["violations_by_check"] == {
        "balance_is_journal": 1,
        "lots_cover_balance": 1,
        "customer_view": 1,
    }
    assert as_json["dead_letter_reasons"] == {"esb.card.transaction.v1 invalid_json": 1}
