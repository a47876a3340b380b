"""Simulated customers look like a South African retail bank's book."""

from __future__ import annotations

from collections import Counter

from tests.unit.simulator.world import customers


def test_the_same_seed_gives_the_same_customers():
    first = customers(7, 50)
    again = customers(7, 50)
    other = customers(8, 50)
    assert first == again
    assert [c.customer_no for c in first] != [c.customer_no for c in other]


def test_customers_are_distinct_and_speak_english_or_afrikaans_about_sixty_forty():
    book = customers(1, 3_000)
    assert len({c.customer_no for c in book}) == 3_000
    assert all(len(c.customer_no) <= 12 for c in book)
    languages = Counter(c.language for c in book)
    assert set(languages) == {"en", "af"}
    assert 0.36 < languages["af"] / 3_000 < 0.44


def test_most_customers_are_retail_members_with_a_bank_account_and_a_card():
    book = customers(2, 3_000)
    members = sum(c.member for c in book) / 3_000
    segments = Counter(c.segment for c in book)
    assert 0.75 < members < 0.85
    assert segments.most_common(1)[0][0] == "retail"
    assert set(segments) == {"retail", "premier", "private", "business"}
    for customer in book:
        assert customer.bank_accounts, "every customer has a cheque or savings account"
        assert customer.card_refs
        assert all(a.account_no.isdigit() and len(a.account_no) <= 13 for a in customer.accounts)
    account_types = Counter(a.type for c in book for a in c.accounts)
    assert set(account_types) == {"cheque", "savings", "credit_card"}


def test_debit_order_mandates_belong_to_customers_with_a_cheque_account():
    book = customers(3, 500)
    with_mandates = [c for c in book if c.mandates]
    assert len(with_mandates) > 200
    for customer in with_mandates:
        assert any(a.type == "cheque" for a in customer.accounts)
        for mandate in customer.mandates:
            assert len(mandate.descriptor) <= 40
            assert mandate.amount_cents > 0
