"""The replaying process keeps the mode of the `loyalty replay` that starts it."""

from __future__ import annotations

import pytest

from shared.replay_cli import child_environment


def test_on_the_embedded_platform_the_replay_stays_embedded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `LOYALTY_HOME=... loyalty replay accrual`: no address set, so embedded; the child gets
    # both addresses, which alone would make it external and demand a runtime password.
    for name in ("LOYALTY_INFRA_MODE", "LOYALTY_KAFKA_BOOTSTRAP", "LOYALTY_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    env = child_environment(
        "accrual", "127.0.0.1:9092", "postgresql://postgres@127.0.0.1:5432/r", "g", parent={}
    )
    assert env["LOYALTY_INFRA_MODE"] == "embedded"
    assert env["LOYALTY_DATABASE_URL"].endswith("/r")
    assert env["LOYALTY_ACCRUAL_CONSUMER_GROUP"] == "g"
    assert env["LOYALTY_ACCRUAL_RELAY_ENABLED"] == "false"


def test_against_external_infrastructure_the_replay_stays_external(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOYALTY_INFRA_MODE", raising=False)
    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("LOYALTY_DATABASE_URL", "postgresql://admin@db:5432/loyalty")
    parent = {"LOYALTY_ACCRUAL_DATABASE_URL": "postgresql://accrual_app@db/loyalty"}
    env = child_environment("accrual", "kafka:9092", "postgresql://admin@db/r", "g", parent)
    assert env["LOYALTY_INFRA_MODE"] == "external"
    assert "LOYALTY_ACCRUAL_DATABASE_URL" not in env  # the live database is not the target
