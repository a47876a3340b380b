"""The exactly-once verdict, from the counts the wallet and accrual hold."""

from __future__ import annotations

from typing import Any

from shared.bench.verify import judge

N = 1_000
Counts = dict[str, dict[str, int]]


def _judge(counts: dict[str, Counts]) -> dict[str, Any]:
    return judge(
        N,
        postings=counts["postings"],
        entries=counts["entries"],
        lots=counts["lots"],
        earned=counts["earned"],
    )


def _counts(
    postings: int = N, references: int = N, transactions: int = N, points: int = 25_000
) -> dict[str, Counts]:
    wallet = {"postings": postings, "references": references, "transactions": transactions}
    return {
        "postings": {"points": wallet, "tier_points": dict(wallet)},
        "entries": {
            "points": {"entries": 2 * postings, "net": 0, "credited": points},
            "tier_points": {"entries": 2 * postings, "net": 0, "credited": points},
        },
        "lots": {
            "points": {"lots": postings, "points": points},
            "tier_points": {"lots": postings, "points": points},
        },
        "earned": {
            "points": {"earnings": N, "postings": N, "points": 25_000},
            "tier_points": {"earnings": N, "postings": N, "points": 25_000},
        },
    }


def test_every_transaction_earned_once_is_ok() -> None:
    verdict = _judge(_counts())
    assert verdict["ok"], verdict["problems"]
    assert verdict["currencies"]["points"]["distinct_transactions"] == N


def test_a_missing_earning_is_reported() -> None:
    verdict = _judge(_counts(postings=N - 1, references=N - 1, transactions=N - 1))
    assert not verdict["ok"]
    assert any("999 postings in the wallet, expected 1000" in p for p in verdict["problems"])


def test_points_credited_twice_are_reported() -> None:
    counts = _counts(points=25_100)
    verdict = _judge(counts)
    assert not verdict["ok"]
    assert any("accrual earned 25000 points" in p for p in verdict["problems"])


def test_an_unbalanced_journal_is_reported() -> None:
    counts = _counts()
    counts["entries"]["points"]["net"] = 7
    verdict = _judge(counts)
    assert verdict["problems"] == ["points: the journal is off balance by 7"]


def test_a_transaction_posted_under_two_references_is_reported() -> None:
    verdict = _judge(_counts(postings=N + 1, references=N + 1, transactions=N))
    assert not verdict["ok"]


def _expected(points: int = 25_000, *, exact: bool = True, postings: int = N) -> dict[str, Any]:
    row = {"postings": postings, "points": points}
    return {
        "programme": {"name": "Launch rule (flat)", "version": 3},
        "exact": exact,
        "reasons": [] if exact else ["rule r has a period cap"],
        "transactions": N,
        "currencies": {"points": row, "tier_points": dict(row)},
    }


def _judge_expecting(counts: dict[str, Counts], expected: dict[str, Any]) -> dict[str, Any]:
    return judge(
        N,
        postings=counts["postings"],
        entries=counts["entries"],
        lots=counts["lots"],
        earned=counts["earned"],
        expected=expected,
    )


def test_what_the_programme_gives_is_ok() -> None:
    verdict = _judge_expecting(_counts(), _expected())
    assert verdict["ok"], verdict["problems"]
    assert verdict["currencies"]["points"]["expected_points"] == 25_000


def test_points_other_than_the_programme_gives_are_reported_even_if_consistent() -> None:
    verdict = _judge_expecting(_counts(), _expected(points=25_001))
    assert not verdict["ok"]
    assert verdict["problems"] == [
        f"{currency}: the programme gives 1000 postings of 25001 points in all, accrual "
        "earned 1000 of 25000"
        for currency in ("points", "tier_points")
    ]


def test_an_inexact_expectation_is_not_held_against_the_run() -> None:
    verdict = _judge_expecting(_counts(), _expected(points=1, exact=False))
    assert verdict["ok"], verdict["problems"]
    assert "expected_points" not in verdict["currencies"]["points"]
