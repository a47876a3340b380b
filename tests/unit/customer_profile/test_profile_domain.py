"""The profile's pure rules: cash-back account, which change wins, texts in a language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.customer_profile.domain import (
    Account,
    cashback_account,
    choose_text,
    describe,
    format_amount,
    render,
    winning_change,
)

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

TEXTS = {
    ("activity.earned", "en"): "You earned {points} {unit}",
    ("activity.earned", "af"): "Jy het {points} {unit} verdien",
    ("activity.transaction.purchase", "en"): "Purchase at {vendor}: {currency} {amount}",
    ("activity.transaction.purchase", "af"): "Aankoop by {vendor}: {currency} {amount}",
    ("activity.english_only", "en"): "Only in English: {points}",
    ("unit.points", "en"): "points",
    ("unit.points", "af"): "punte",
    ("format.decimal_mark", "en"): ".",
    ("format.decimal_mark", "af"): ",",
}


def test_the_first_cheque_account_receives_cash_back() -> None:
    accounts = [
        Account("9000000001", "savings"),
        Account("4071234567", "cheque"),
        Account("4079999999", "cheque"),
    ]
    assert cashback_account(accounts) == "4071234567"


def test_a_customer_without_a_cheque_account_has_no_cash_back_account() -> None:
    assert cashback_account([Account("9000000001", "savings")]) is None
    assert cashback_account([]) is None


def test_the_newest_change_wins_whatever_the_delivery_order() -> None:
    changes = [(T0 + timedelta(minutes=2), "second"), (T0 + timedelta(minutes=1), "first")]
    outcome = winning_change(None, changes)
    assert outcome.winner == "second"
    assert outcome.applied == 1  # the late, older change is ignored


def test_changes_in_order_all_apply() -> None:
    changes = [(T0 + timedelta(minutes=1), "first"), (T0 + timedelta(minutes=2), "second")]
    outcome = winning_change(T0, changes)
    assert outcome.winner == "second"
    assert outcome.applied == 2


def test_a_change_no_newer_than_the_profile_is_ignored() -> None:
    outcome = winning_change(T0, [(T0, "same time"), (T0 - timedelta(days=1), "older")])
    assert outcome.winner is None
    assert outcome.applied == 0


def test_a_text_is_chosen_in_the_customers_language() -> None:
    assert choose_text(TEXTS, "activity.earned", "af") == ("Jy het {points} {unit} verdien", "af")


def test_an_untranslated_text_falls_back_to_english() -> None:
    assert choose_text(TEXTS, "activity.english_only", "af") == ("Only in English: {points}", "en")
    assert choose_text(TEXTS, "activity.earned", "zu") == ("You earned {points} {unit}", "en")


def test_an_unknown_key_has_no_text() -> None:
    assert choose_text(TEXTS, "activity.unknown", "af") is None
    assert describe(TEXTS, "activity.unknown", "af", {}) == "activity.unknown"


def test_descriptions_name_the_points_currency_in_the_customers_language() -> None:
    details = {"points": 25, "unit": "points"}
    assert describe(TEXTS, "activity.earned", "af", details) == "Jy het 25 punte verdien"
    assert describe(TEXTS, "activity.earned", "en", details) == "You earned 25 points"


def test_amounts_are_written_with_the_languages_decimal_mark() -> None:
    details = {"vendor": "Woolworths", "currency": "ZAR", "amount_cents": 25050}
    assert (
        describe(TEXTS, "activity.transaction.purchase", "af", details)
        == "Aankoop by Woolworths: ZAR 250,50"
    )
    assert (
        describe(TEXTS, "activity.transaction.purchase", "en", details)
        == "Purchase at Woolworths: ZAR 250.50"
    )


def test_format_amount_keeps_cents_exact() -> None:
    assert format_amount(5) == "0.05"
    assert format_amount(-123456, ",") == "-1234,56"


def test_a_placeholder_without_a_value_renders_empty_and_a_broken_template_as_is() -> None:
    assert render("Redeemed at {vendor}: {reason}", {"vendor": "Takealot"}) == (
        "Redeemed at Takealot:"
    )
    assert render("{points} points", {"points": None}) == "points"
    assert render("Broken {template", {}) == "Broken {template"


def test_a_decline_reason_comes_from_the_catalogue_by_code_else_as_sent() -> None:
    texts = {
        ("activity.declined", "en"): "Redemption at {vendor} declined: {reason}",
        ("activity.declined", "zu"): "Ukusebenzisa e-{vendor} kwenqatshiwe: {reason}",
        ("reason.insufficient_points", "zu"): "Amaphuzu awanele",
    }
    details = {"vendor": "Takealot", "reason_code": "insufficient_points", "reason": "Sent"}
    assert describe(texts, "activity.declined", "zu", details) == (
        "Ukusebenzisa e-Takealot kwenqatshiwe: Amaphuzu awanele"
    )
    assert describe(texts, "activity.declined", "en", details) == (
        "Redemption at Takealot declined: Sent"
    )


def test_tier_names_are_shown_in_the_customers_language() -> None:
    texts = {
        ("activity.tier_upgraded", "en"): "Welcome to {tier}",
        ("tier.gold", "en"): "Gold",
        ("tier.gold", "af"): "Goud",
    }
    assert describe(texts, "activity.tier_upgraded", "af", {"tier": "gold"}) == "Welcome to Goud"
