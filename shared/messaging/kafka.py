"""Kafka client settings shared by consumers, producers and the admin client."""

from __future__ import annotations

import ssl
from typing import Any

from shared.settings import KafkaSecurity


def client_kwargs(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments for the configured security protocol."""
    security = security or KafkaSecurity()
    kwargs: dict[str, Any] = {"security_protocol": security.security_protocol}
    if security.security_protocol in {"SSL", "SASL_SSL"}:
        kwargs["ssl_context"] = ssl.create_default_context(
            cafile=str(security.ssl_cafile) if security.ssl_cafile else None
        )
    if security.security_protocol.startswith("SASL"):
        if not (security.sasl_mechanism and security.sasl_username and security.sasl_password):
            raise ValueError(
                "SASL needs LOYALTY_KAFKA_SASL_MECHANISM, _SASL_USERNAME and _SASL_PASSWORD"
            )
        kwargs["sasl_mechanism"] = security.sasl_mechanism
        kwargs["sasl_plain_username"] = security.sasl_username
        kwargs["sasl_plain_password"] = security.sasl_password.get_secret_value()
    return kwargs


def producer_kwargs(security: KafkaSecurity | None = None) -> dict[str, Any]:
    # The idempotent producer is off on purpose: Tansu lacks it, and the outbox plus the
    # consumers' inboxes make redelivery harmless.
    return {
        **client_kwargs(security),
        "acks": "all",
        "enable_idempotence": False,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 30_000,
    }
