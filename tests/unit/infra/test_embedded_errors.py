"""Embedded infrastructure fails with a clear message, never a stack of confusion."""

from __future__ import annotations

import socket

import pytest

from shared.infra import embedded
from shared.infra.embedded import InfraError


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(InfraError, match=f"port {port} is already taken"):
            embedded.ensure_port_free(port, "Tansu")


def test_a_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(embedded, "_package_dir", lambda _package: tmp_path)
    with pytest.raises(InfraError, match="Tansu binary missing"):
        embedded.tansu_binary()
    with pytest.raises(InfraError, match="PostgreSQL binaries missing"):
        embedded.postgres_bin_dir()


def test_a_missing_package_is_a_clear_error() -> None:
    with pytest.raises(InfraError, match="is not installed"):
        embedded._package_dir("no_such_package_for_loyalty")


def test_no_infrastructure_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from shared.infra.resolve import resolve_endpoints
    from shared.settings import PlatformSettings

    monkeypatch.delenv("LOYALTY_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("LOYALTY_DATABASE_URL", raising=False)
    with pytest.raises(InfraError, match="loyalty infra up"):
        resolve_endpoints(PlatformSettings(home=tmp_path))


def test_external_mode_needs_both_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.settings import InfraMode, PlatformSettings

    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.delenv("LOYALTY_DATABASE_URL", raising=False)
    monkeypatch.delenv("LOYALTY_INFRA_MODE", raising=False)
    assert PlatformSettings().mode is InfraMode.EMBEDDED
    monkeypatch.setenv("LOYALTY_DATABASE_URL", "postgresql://u@db/loyalty")
    assert PlatformSettings().mode is InfraMode.EXTERNAL


def test_runtime_passwords_have_no_default_outside_embedded_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.db.engine import runtime_password
    from shared.settings import PlatformSettings, service_settings

    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("LOYALTY_DATABASE_URL", "postgresql://u@db/loyalty")
    monkeypatch.delenv("LOYALTY_ACCRUAL_DB_PASSWORD", raising=False)
    with pytest.raises(RuntimeError, match="LOYALTY_ACCRUAL_DB_PASSWORD is required"):
        runtime_password("accrual", PlatformSettings(), service_settings("accrual"))
    monkeypatch.setenv("LOYALTY_ACCRUAL_DB_PASSWORD", "s3cret")
    assert runtime_password("accrual", PlatformSettings(), service_settings("accrual")) == "s3cret"
