"""Typed settings: one class for the platform, one per service, all read from the environment."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = (
    "vendor_matching",
    "accrual",
    "redemption",
    "customer_profile",
    "debit_orders",
)


class InfraMode(StrEnum):
    EMBEDDED = "embedded"
    CONTAINERS = "containers"
    EXTERNAL = "external"


class KafkaSecurity(BaseSettings):
    """Kafka client security (SASL SCRAM over TLS in production)."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_KAFKA_", extra="ignore")

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None


class PlatformSettings(BaseSettings):
    """Where the broker and the database are; the code never knows which mode made them."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore")

    kafka_bootstrap: str | None = Field(
        default=None, description="host:port[,host:port] of an external Kafka cluster"
    )
    database_url: str | None = Field(
        default=None,
        description="postgresql:// URL of a superuser or owner account (migrations, roles)",
    )
    infra_mode: InfraMode | None = Field(
        default=None,
        description="embedded | containers | external; external when both URLs are set",
    )
    home: Path = Field(default=Path(".loyalty"), description="project-local state directory")
    database_socket_dir: Path | None = Field(
        default=None,
        description="the directory of PostgreSQL's Unix socket, where it runs on this host: the "
        "services connect through it rather than TCP (`loyalty up` sets it for the embedded "
        "cluster); ignored while the socket is not there",
    )

    @property
    def mode(self) -> InfraMode:
        if self.infra_mode is not None:
            return self.infra_mode
        if self.kafka_bootstrap and self.database_url:
            return InfraMode.EXTERNAL
        return InfraMode.EMBEDDED


class ServiceSettings(BaseSettings):
    """Per-service settings, read with the prefix LOYALTY_<SERVICE>_ (e.g. LOYALTY_ACCRUAL_)."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str | None = Field(
        default=None, description="runtime-role URL; derived from the admin URL when unset"
    )
    db_password: SecretStr | None = Field(
        default=None, description="runtime-role password; required outside the embedded mode"
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, description="health and metrics port; 0 picks a free one")
    query_host: str = Field(default="127.0.0.1", description="interface of the HTTP query API")
    query_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="port of the service's HTTP query API (customer_profile); unset: not "
        "served; 0 picks a free one",
    )
    lanes: str = Field(
        default="",
        description="the lanes this process consumes, comma-separated (e.g. 'gateway' or "
        "'main'); empty: every lane. Background workers run where the main lane does",
    )
    batch_size: int = Field(default=500, ge=1, le=10_000)
    batch_timeout_ms: int = Field(
        default=50,
        ge=1,
        description="how long the main lane waits for a batch to fill; FastStream sleeps as "
        "long again when none came, so an idle lane looks every twice this",
    )
    lane_batch_timeout_ms: int = Field(
        default=5,
        ge=1,
        description="the same for the other lanes: 50 ms made a request arriving at an idle "
        "lane wait 50-100 ms before a fetch even looked",
    )
    fetch_max_wait_ms: int = Field(
        default=500,
        ge=1,
        description="how long a fetch of the main lane waits for records: long waits make big "
        "batches and cost the broker little",
    )
    lane_fetch_max_wait_ms: int = Field(
        default=10,
        ge=1,
        description="the same for the other lanes (redemption: the vendor gateways' requests), "
        "which answer someone waiting: 500 ms cost 130 ms a hop at the median on Tansu",
    )
    lane_idle_fetch_max_wait_ms: int = Field(
        default=50,
        ge=1,
        description="the other lanes' fetch wait once idle (shared.messaging.pacing): each "
        "fetch costs the broker CPU, empty or not; the requests ending a quiet spell wait up to "
        "about this long, once. The lane's fetch wait or less: never idle",
    )
    lane_idle_batch_timeout_ms: int = Field(
        default=50, ge=1, description="the other lanes' batch timeout once idle"
    )
    lane_idle_after_ms: int = Field(
        default=2000, ge=1, description="how long without a record makes another lane idle"
    )
    fetch_max_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="the most a consumer's fetch brings back, all partitions together; "
        "under a backlog each consumer holds about this much (aiokafka's default: 50 MiB)",
    )
    max_partition_fetch_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="the same for one partition (aiokafka's default: 1 MiB)",
    )
    gc_young_threshold: int = Field(
        default=50_000,
        ge=1,
        description="allocations (net) before Python's cyclic garbage collector looks at the "
        "young objects (its own default: 700). A batch's messages keep tens of thousands of "
        "objects alive at once; at 700 the collector ran 10-20 times a batch; tuned, the "
        "services use a fifth less CPU. The objects made at start-up are frozen out of every "
        "collection (gc.freeze)",
    )
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="the process's event loop: uvloop (libuv; a sixth less resident memory "
        "in alternated runs, CPU within the machine's spread, docs/benchmarks.md) or Python's "
        "own asyncio loop; asyncio where uvloop is not installed",
    )
    max_retries: int = Field(default=3, ge=0, description="retries of a failing batch")
    relay_batch_size: int = Field(default=1000, ge=1)
    relay_idle_ms: int = Field(default=20, ge=1)
    db_pool_size: int = Field(default=5, ge=1)
    hold_lapse_seconds: int = Field(default=900, ge=1)
    cost_per_point_cents: int = Field(
        default=10,
        ge=0,
        description="redemption: what a spendable point costs the programme "
        "(the liability report's money value), in cents",
    )
    negative_policy: str = Field(
        default="",
        description="redemption: per currency, what a clawback of points already spent does, "
        "e.g. 'points=debt,tier_points=cap': debt lets the balance go negative (later credits "
        "repay it first), cap stops it at zero and journals the rest as shortfall; "
        "unnamed currencies: debt",
    )
    relay_enabled: bool = Field(
        default=True, description="run the outbox relay in this process (off: a separate relay)"
    )
    relay_standby_seconds: float = Field(
        default=30.0,
        gt=0,
        description="a process without the main lane (the wallet's gateway) is the relay's "
        "stand-in: it tries for the relay once every this many seconds and, holding it, "
        "relays this long and lets go, so that the main lane's process relays and the "
        "decisions' event loop does not",
    )
    workers: bool = Field(
        default=True,
        description="run the service's background workers where the main lane runs (accrual: "
        "pending points' lapse; redemption: expiry; customer_profile: the tier review and the "
        "report miners' catch-up and hand-over); off: another process of the service runs them",
    )
    consumer_group: str | None = Field(
        default=None,
        description="Kafka consumer group (default loyalty.<service>); a new group replays the "
        "topics from their beginning (`loyalty replay`)",
    )
    fault_injection: Literal["kill_after_commit"] | None = Field(
        default=None,
        description="tests only: SIGKILL this process right after a batch's DB commit, "
        "before its offsets are committed and before its outbox is relayed",
    )


def service_settings(service: str) -> ServiceSettings:
    """Settings of one service, from LOYALTY_<SERVICE>_* variables."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    prefix = f"LOYALTY_{service.upper()}_"
    cls = type(
        f"{service.title().replace('_', '')}Settings",
        (ServiceSettings,),
        {"model_config": SettingsConfigDict(env_prefix=prefix, extra="ignore")},
    )
    settings: ServiceSettings = cls()
    return settings
