"""Containers mode (test suite on a machine with a Docker engine): Apache Kafka and Postgres.

Chosen with LOYALTY_INFRA_MODE=containers. The code under test still sees only a bootstrap
address and a database URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.infra.embedded import Endpoints, free_port, wait_for_port

KAFKA_IMAGE = "apache/kafka:3.9.1"
POSTGRES_IMAGE = "postgres:17-alpine"


def docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]  # noqa: PLC0415

        docker.from_env().ping()
    except Exception:
        return False
    return True


def start() -> tuple[Endpoints, Callable[[], None]]:
    """Start Apache Kafka (KRaft, single node) and Postgres; returns endpoints and a stopper."""
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.postgres import PostgresContainer  # noqa: PLC0415

    port = free_port()
    kafka: Any = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(9092, port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        )
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    )
    postgres: Any = PostgresContainer(POSTGRES_IMAGE, username="postgres", password="postgres")  # noqa: S106  (throwaway test container)
    kafka.start()
    postgres.start()
    wait_for_port(port, "Apache Kafka", timeout=120)
    url = postgres.get_connection_url(driver=None)

    def stop() -> None:
        kafka.stop()
        postgres.stop()

    return Endpoints(f"127.0.0.1:{port}", url), stop
