"""The `loyalty` command: one entry point for operators, developers and SRE."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from shared.infra import embedded
from shared.infra.embedded import InfraError
from shared.infra.resolve import resolve_endpoints
from shared.settings import SERVICES, InfraMode, KafkaSecurity, PlatformSettings, service_settings

Command = Callable[[argparse.Namespace], int]

# Modules that add their own sub-commands with register(subparsers).
PLUGINS = (
    "contracts.cli",
    "services.vendor_matching.cli",
    "services.debit_orders.cli",
    "services.customer_profile.cli",
    "services.customer_profile.console.cli",
    "services.redemption.cli",
    "services.accrual.cli",
    "shared.verify_cli",
    "shared.deploy.cli",
    "shared.up",
    "shared.simulate_cli",
    "shared.dlq_cli",
    "shared.replay_cli",
    "shared.bench.cli",
    "services.vendor_matching.bench_cli",
    "services.debit_orders.bench_cli",
)


def _infra(args: argparse.Namespace) -> int:
    platform = PlatformSettings()
    home = Path(args.home) if args.home else platform.home
    if args.action == "up":
        if platform.mode is InfraMode.EXTERNAL:
            print(
                "external infrastructure configured (LOYALTY_KAFKA_BOOTSTRAP, LOYALTY_DATABASE_URL)"
            )
            print("nothing embedded is started")
            return 0
        state = embedded.up(home, kafka_port=args.kafka_port, pg_port=args.pg_port)
        print(f"kafka    {state.kafka_bootstrap}  (Tansu, pid {state.tansu_pid})")
        print(f"postgres {state.database_url}  (data {state.pg_data})")
        print(f"export LOYALTY_KAFKA_BOOTSTRAP={state.kafka_bootstrap}")
        print(f"export LOYALTY_DATABASE_URL={state.database_url}")
        return 0
    if args.action == "down":
        embedded.down(home, wipe=args.wipe)
        print("embedded infrastructure stopped" + (" and wiped" if args.wipe else ""))
        return 0
    found = embedded.read_state(home)
    running = found is not None and embedded.state_is_running(found)
    report = {
        "mode": platform.mode.value,
        "running": running if platform.mode is not InfraMode.EXTERNAL else None,
        "kafka_bootstrap": found.kafka_bootstrap if found else platform.kafka_bootstrap,
        "database_url": found.database_url if found else platform.database_url,
    }
    print(json.dumps(report, indent=2))
    return 0 if running or platform.mode is InfraMode.EXTERNAL else 1


def _services_arg(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        raise SystemExit(f"unknown service(s) {', '.join(unknown)}; one of {', '.join(SERVICES)}")
    return names or list(SERVICES)


def runtime_passwords(services: list[str]) -> dict[str, str]:
    from shared.db.engine import runtime_password  # noqa: PLC0415

    platform = PlatformSettings()
    return {s: runtime_password(s, platform, service_settings(s)) for s in services}


def _migrate(args: argparse.Namespace) -> int:
    from shared.db.migrate import autogenerate, migrate  # noqa: PLC0415

    endpoints = resolve_endpoints()
    services = _services_arg(args.services)
    if args.autogenerate:
        if len(services) != 1:
            raise SystemExit("--autogenerate takes exactly one service")
        passwords = runtime_passwords(services)
        asyncio.run(
            autogenerate(
                endpoints.database_url, services[0], passwords[services[0]], args.autogenerate
            )
        )
        return 0
    asyncio.run(migrate(endpoints.database_url, runtime_passwords(services)))
    print(f"migrated: {', '.join(services)}")
    return 0


def _topics(args: argparse.Namespace) -> int:
    from shared.messaging.topics import create_topics  # noqa: PLC0415

    del args
    endpoints = resolve_endpoints()
    created = asyncio.run(create_topics(endpoints.kafka_bootstrap, KafkaSecurity()))
    print(f"created {len(created)} topic(s)" + (": " + ", ".join(created) if created else ""))
    return 0


def _run(args: argparse.Namespace) -> int:
    from shared.runtime import main as run_main  # noqa: PLC0415

    run_main(
        _services_arg([args.service])[0],
        query_host=args.http_host,
        query_port=args.http_port,
        lanes=args.lanes,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loyalty",
        description="Bank rewards & loyalty platform: services, infrastructure and tools.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    infra = sub.add_parser("infra", help="embedded Kafka (Tansu) and PostgreSQL")
    infra.add_argument("action", choices=["up", "down", "status"])
    infra.add_argument("--home", help="state directory (default .loyalty or LOYALTY_HOME)")
    infra.add_argument("--kafka-port", type=int, help="fixed broker port (default: a free one)")
    infra.add_argument("--pg-port", type=int, help="fixed PostgreSQL port (default: a free one)")
    infra.add_argument("--wipe", action="store_true", help="with down: delete the data too")
    infra.set_defaults(func=_infra)

    mig = sub.add_parser("migrate", help="create roles and schemas, apply migrations (idempotent)")
    mig.add_argument("services", nargs="*", metavar="SERVICE", help="default: all services")
    mig.add_argument("--autogenerate", metavar="MESSAGE", help="developer tool: write a migration")
    mig.set_defaults(func=_migrate)

    topics = sub.add_parser("topics", help="Kafka topics of the registry")
    topics.add_argument("action", choices=["create"])
    topics.set_defaults(func=_topics)

    run = sub.add_parser("run", help="run one service as a long-lived process")
    run.add_argument("service", choices=SERVICES)
    run.add_argument(
        "--http-port",
        type=int,
        metavar="PORT",
        help="serve the HTTP query API on PORT (customer_profile only; 0: a free port)",
    )
    run.add_argument("--http-host", metavar="HOST", help="its interface (default 127.0.0.1)")
    run.add_argument(
        "--lanes",
        metavar="LANE[,LANE]",
        help="consume only these lanes (default: all; LOYALTY_<SERVICE>_LANES), e.g. "
        "`loyalty run redemption --lanes gateway` for the vendor gateways' decisions in a "
        "process of their own beside one with `--lanes main`",
    )
    run.set_defaults(func=_run)

    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    func: Command = args.func
    try:
        sys.exit(func(args))
    except InfraError as exc:
        print(f"loyalty: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
