"""The console's pure rules: password hashes, the users file, who may adjust how much,
and the state each redemption is in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.customer_profile.console.labels import Labels
from services.customer_profile.console.passwords import (
    PasswordHashError,
    hash_password,
    parse_hash,
    verify_password,
)
from services.customer_profile.console.rules import (
    AdjustmentFormError,
    needs_approval,
    read_adjustment,
    redemptions,
)
from services.customer_profile.console.users import UsersFileError, read_users

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_password_hash_verifies_only_its_password_and_is_salted() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert not verify_password("", stored)
    assert hash_password("correct horse") != stored  # a new salt every time


def test_an_unknown_user_never_verifies() -> None:
    assert not verify_password("anything", None)


@pytest.mark.parametrize(
    "stored",
    [
        "plain",
        "md5$1$2$3$4$5",
        "scrypt$16384$8$1$not base64!$AAAA",
        "scrypt$1000$8$1$AAAA$AAAA",  # N not a power of two
        "scrypt$16384$8$1$$AAAA",  # no salt
    ],
)
def test_a_malformed_hash_is_refused(stored: str) -> None:
    with pytest.raises(PasswordHashError):
        parse_hash(stored)


def test_an_empty_password_cannot_be_hashed() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


def test_the_users_file_names_each_bad_line() -> None:
    good = hash_password("pw")
    users, rejected = read_users(
        "username,role,password_hash\n"
        f"thandi,agent,{good}\n"
        f"pieter,supervisor,{good}\n"
        "\n"
        f"Bad Name,agent,{good}\n"
        f"sipho,manager,{good}\n"
        "lerato,agent,secret\n"
        f"thandi,agent,{good}\n"
        "short,agent\n"
    )
    assert [(u.username, u.role) for u in users] == [("thandi", "agent"), ("pieter", "supervisor")]
    assert [(r.line_no, r.reason.split(":")[0]) for r in rejected] == [
        (5, "username 'Bad Name'"),
        (6, "role 'manager'"),
        (7, "password_hash"),
        (8, "username 'thandi' appears twice"),
        (9, "expected 3 fields, found 2"),
    ]


def test_a_users_file_without_its_header_is_refused() -> None:
    with pytest.raises(UsersFileError, match="username,role,password_hash"):
        read_users("thandi,agent,x\n")


def test_above_the_limit_an_agent_needs_a_supervisor_and_a_supervisor_does_not() -> None:
    assert not needs_approval(1000, "agent", 1000)
    assert not needs_approval(-1000, "agent", 1000)
    assert needs_approval(1001, "agent", 1000)
    assert needs_approval(-1001, "agent", 1000)  # taking points back counts the same
    assert not needs_approval(50_000, "supervisor", 1000)


def test_an_adjustment_form_is_read_or_refused_with_the_reason() -> None:
    form = {"points": " -250 ", "currency": "points", "reason_code": "correction",
            "reason_text": "  double   posting  "}  # fmt: skip
    adjustment = read_adjustment("100000000001", form)
    assert (adjustment.points, adjustment.reason_text) == (-250, "double posting")
    for field, value, message in [
        ("points", "12.5", "whole number"),
        ("points", "0", "not be zero"),
        ("points", "99999999", "at most"),
        ("currency", "rand", "currency"),
        ("reason_code", "because", "reason code"),
        ("reason_text", "   ", "free text"),
    ]:
        with pytest.raises(AdjustmentFormError, match=message):
            read_adjustment("100000000001", {**form, field: value})


def _decision(
    request: str, action: str, outcome: str, points: int, minutes: int
) -> dict[str, object]:
    return {"vendor_id": "woolworths", "request_id": request, "action": action,
            "outcome": outcome, "points": points, "at": T0 + timedelta(minutes=minutes),
            "reason": "Nie genoeg punte nie" if outcome == "declined" else None}  # fmt: skip


def test_each_redemption_is_in_the_state_its_decisions_left_it_in() -> None:
    found = redemptions(
        [
            _decision("R1", "redeem", "approved", 500, 1),
            _decision("R2", "authorize", "approved", 300, 2),
            _decision("R2", "capture", "approved", 250, 3),
            _decision("R3", "redeem", "declined", 0, 4),
            _decision("R1", "cancel", "approved", 500, 5),
            _decision("R4", "authorize", "approved", 100, 6),
            _decision("R4", "void", "approved", 100, 7),
            _decision("R2", "cancel", "declined", 0, 8),  # a refused cancel undoes nothing
        ]
    )
    assert [(r.request_id, r.state, r.points, r.cancellable) for r in found] == [
        ("R2", "captured", 250, True),
        ("R4", "voided", 100, False),
        ("R1", "cancelled", 500, False),
        ("R3", "declined", 0, False),
    ]
    assert found[3].reason == "Nie genoeg punte nie"


def test_labels_come_from_the_catalogue_in_the_language_with_english_behind() -> None:
    texts = {
        ("console.balance", "af"): "Saldo",
        ("console.to_next_tier", "af"): "{points} tot {tier}",
    }
    labels = Labels(texts, "af")
    assert labels["balance"] == "Saldo"
    assert labels["held"] == "Held"  # not translated: the English word
    assert labels.fill("to_next_tier", points=40, tier="Goud") == "40 tot Goud"
