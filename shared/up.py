"""`loyalty up`: the whole platform on this machine, fed by a simulated bank.

It resolves the infrastructure (external when configured, else the embedded Tansu and
PostgreSQL, started if needed), creates the topics, migrates every service, starts each
service as its own process, loads the simulator's vendors into the vendor master, then
publishes simulated bank and vendor-gateway traffic while a live view shows what happens.
Ctrl-C (or the end of --duration) stops it all in order and prints a JSON summary line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shared.cli_args import positive
from shared.infra import embedded
from shared.infra.embedded import Endpoints, InfraError, free_port
from shared.liveview import Collector, ServiceTarget, Snapshot, http_get, is_terminal, run_view
from shared.settings import SERVICES, KafkaSecurity, PlatformSettings
from shared.simulator import Simulator, write_vendor_csv

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 30
CLI = ("-c", "from shared.cli import main; main()")

DESCRIPTION = """\
Run the whole loyalty platform locally, fed by a simulated bank.

Steps:
  1. infrastructure: external Kafka and PostgreSQL when LOYALTY_KAFKA_BOOTSTRAP and
     LOYALTY_DATABASE_URL are both set; otherwise the embedded Tansu broker and PostgreSQL
     under LOYALTY_HOME (default .loyalty), started now unless already running
  2. topics: every topic of contracts/registry.py and its dead-letter topic
  3. migrations: roles, schemas and Alembic migrations of every service
  4. services: each of
       %(services)s
     as its own process (`loyalty run SERVICE`), the wallet's vendor-gateway lane in one
     more (redemption-gateway: `loyalty run redemption --lanes gateway`), logs in
     LOYALTY_HOME/logs/PROCESS.log, health and metrics on a free port; waits until every
     /readyz answers
  5. vendors: the simulator's vendor master (LOYALTY_HOME/sim-vendors.csv) is loaded with
     `loyalty vendors import`
  6. simulator: seeded South African customers (CIF records first), card authorizations,
     postings, reversals and refunds at real vendors, debit orders, EFTs, fees, transfers,
     and vendor-gateway redemption requests, with a few duplicate redeliveries
  7. live view: per service up/down, events/s, dead letters, outbox relay rate, consumer
     lag; dead-letter topic sizes; points outstanding (a plain line every 5 s without a
     terminal or with --no-view)

Ctrl-C or the end of --duration: the simulator stops, the pipeline drains (up to %(drain)ds),
a final JSON summary line is printed ({"published": ..., "processed": {...},
"dead_letters": ...}), the services get SIGTERM (SIGKILL after %(stop)ds), and the embedded
infrastructure is stopped if `up` started it (left running if it already was).

Exit status: 0 when every service started and stopped cleanly; 1 when a service failed;
2 when the infrastructure could not be started.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "up",
        help="run everything locally with simulated bank traffic and a live view",
        description=DESCRIPTION
        % {"services": ", ".join(SERVICES), "drain": DRAIN_TIMEOUT_S, "stop": STOP_TIMEOUT_S},
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--no-simulator",
        action="store_true",
        help="start the platform only; publish nothing (bring your own traffic)",
    )
    parser.add_argument(
        "--rate",
        type=positive(float),
        default=50.0,
        metavar="N",
        help="simulated events a second (50)",
    )
    parser.add_argument(
        "--customers",
        type=positive(int),
        default=1000,
        metavar="N",
        help="simulated customers (1000)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="simulator seed: the same seed, the same customers"
    )
    parser.add_argument(
        "--duration",
        type=positive(float),
        metavar="SECONDS",
        help="stop by itself after this many seconds of traffic (default: run until Ctrl-C)",
    )
    parser.add_argument(
        "--no-view",
        action="store_true",
        help="no live table: print a plain summary line every few seconds (CI, logs)",
    )
    parser.set_defaults(func=command)


class StartupError(RuntimeError):
    """A step of `up` failed; the message says which and why."""


@dataclass
class ServiceProcess:
    name: str
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.monotonic)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Infra:
    endpoints: Endpoints
    embedded: bool
    started_here: bool


def command(args: argparse.Namespace) -> int:
    """Entry point of `loyalty up`."""
    platform = PlatformSettings()
    try:
        infra = _resolve_infra(platform)
    except (InfraError, OSError, subprocess.SubprocessError) as exc:
        print(f"loyalty up: infrastructure: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, platform, infra))
    finally:
        if infra.started_here:
            embedded.down(platform.home)
            print("embedded infrastructure stopped (started by this `up`)", flush=True)
        elif infra.embedded:
            print("embedded infrastructure left running (`loyalty infra down` stops it)")


def _resolve_infra(platform: PlatformSettings) -> Infra:
    if platform.kafka_bootstrap and platform.database_url:
        print(f"infrastructure: external kafka {platform.kafka_bootstrap}", flush=True)
        return Infra(
            Endpoints(platform.kafka_bootstrap, platform.database_url),
            embedded=False,
            started_here=False,
        )
    before = embedded.read_state(platform.home)
    running = before is not None and embedded.state_is_running(before)
    state = embedded.up(platform.home)
    verb = "already running" if running else "started"
    print(
        f"infrastructure: embedded ({verb}) kafka {state.kafka_bootstrap}, "
        f"postgres port {state.pg_port}, home {platform.home}",
        flush=True,
    )
    return Infra(state.endpoints, embedded=True, started_here=not running)


def _service_env(infra: Infra) -> dict[str, str]:
    env = {
        **os.environ,
        "LOYALTY_KAFKA_BOOTSTRAP": infra.endpoints.kafka_bootstrap,
        "LOYALTY_DATABASE_URL": infra.endpoints.database_url,
        "PYTHONUNBUFFERED": "1",
    }
    if infra.embedded:
        # Both URLs are now set, which alone would mean "external" (no default passwords).
        env["LOYALTY_INFRA_MODE"] = "embedded"
    return env | socket_env(infra.endpoints)


def socket_env(endpoints: Endpoints) -> dict[str, str]:
    """A service talks to a PostgreSQL on this host over its Unix socket."""
    socket_dir = endpoints.database_socket_dir
    return {} if socket_dir is None else {"LOYALTY_DATABASE_SOCKET_DIR": str(socket_dir)}


async def _run(args: argparse.Namespace, platform: PlatformSettings, infra: Infra) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    services: list[ServiceProcess] = []
    try:
        await _prepare(infra)
        services = _start_services(platform.home / "logs", _service_env(infra))
        await _wait_ready(services, stop)
        if stop.is_set():
            return 130
        await import_simulated_vendors(platform.home, _service_env(infra))
        summary = await _operate(args, infra, services, stop)
        print(json.dumps(summary), flush=True)
    except StartupError as exc:
        print(f"loyalty up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        clean = await _stop_services(services)
    return 0 if clean else 1


async def _prepare(infra: Infra) -> None:
    from shared.cli import runtime_passwords  # noqa: PLC0415 (cli imports this module)
    from shared.db.migrate import migrate  # noqa: PLC0415 (alembic is slow to import)
    from shared.messaging.topics import create_topics  # noqa: PLC0415

    try:
        created = await create_topics(infra.endpoints.kafka_bootstrap, KafkaSecurity())
    except Exception as exc:
        raise StartupError(f"creating topics failed: {exc!r}") from exc
    print(f"topics: {len(created)} created", flush=True)
    try:
        await migrate(infra.endpoints.database_url, runtime_passwords(list(SERVICES)))
    except Exception as exc:
        raise StartupError(f"migrations failed: {exc}") from exc
    print(f"migrated: {', '.join(SERVICES)}", flush=True)


@dataclass(frozen=True)
class Process:
    """One process of the platform: a service, or some of a service's lanes."""

    name: str
    service: str
    lanes: str = ""

    def command(self) -> list[str]:
        """Its `loyalty` arguments: the same in `up`, docker-compose.yml and k8s/."""
        lanes = ["--lanes", self.lanes] if self.lanes else []
        return ["run", self.service, *lanes]

    def argv(self) -> list[str]:
        return [sys.executable, *CLI, *self.command()]


def platform_processes() -> tuple[Process, ...]:
    """Each service a process; the wallet's two lanes each a process of their own, so that
    the vendor gateways' decisions never wait in an event loop busy with postings."""
    split = {"redemption": (Process("redemption", "redemption", "main"),
                            Process("redemption-gateway", "redemption", "gateway"))}  # fmt: skip
    return tuple(p for name in SERVICES for p in split.get(name, (Process(name, name),)))


def _start_services(log_dir: Path, env: dict[str, str]) -> list[ServiceProcess]:
    log_dir.mkdir(parents=True, exist_ok=True)
    started: list[ServiceProcess] = []
    for spec in platform_processes():
        name, port = spec.name, free_port()
        log_path = log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            log.write(f"--- loyalty up: starting {name} on port {port}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                spec.argv(),
                env={**env, f"LOYALTY_{spec.service.upper()}_HTTP_PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own session: Ctrl-C reaches `up` only, which then stops services in order.
                start_new_session=True,
            )
        started.append(ServiceProcess(name, port, log_path, proc))
    return started


async def _wait_ready(services: list[ServiceProcess], stop: asyncio.Event) -> None:
    waiting = {s.name: s for s in services}
    deadline = time.monotonic() + READY_TIMEOUT_S
    while waiting and not stop.is_set():
        for name, service in list(waiting.items()):
            if not service.alive():
                raise StartupError(
                    f"{name} exited with status {service.proc.returncode} while starting; "
                    f"the end of {service.log_path}:\n{service.log_tail()}"
                )
            with contextlib.suppress(OSError, TimeoutError, ValueError):
                await http_get(service.url("/readyz"), timeout=1.0)
                elapsed = time.monotonic() - service.started_at
                print(
                    f"started {name} (pid {service.proc.pid}, http://127.0.0.1:{service.port}, "
                    f"ready in {elapsed:.1f}s)",
                    flush=True,
                )
                del waiting[name]
        if time.monotonic() > deadline:
            names = ", ".join(waiting)
            tails = "\n".join(f"--- {s.log_path}\n{s.log_tail(10)}" for s in waiting.values())
            raise StartupError(f"not ready after {READY_TIMEOUT_S:.0f}s: {names}\n{tails}")
        if waiting:
            await asyncio.sleep(0.2)


def _has_command(words: Iterable[str]) -> bool:
    """Whether `loyalty WORD WORD ...` exists (a plugin may not be installed yet)."""
    from shared.cli import build_parser  # noqa: PLC0415 (cli imports this module)

    parser: argparse.ArgumentParser = build_parser()
    for word in words:
        sub = next(
            (a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),  # noqa: SLF001
            None,
        )
        if sub is None or word not in sub.choices:
            return False
        parser = sub.choices[word]
    return True


async def import_simulated_vendors(home: Path, env: dict[str, str]) -> None:
    """Write the simulator's vendor master to HOME and load it with `loyalty vendors import`."""
    path = write_vendor_csv(home / "sim-vendors.csv")
    if not _has_command(("vendors", "import")):
        print(f"vendors: `loyalty vendors import` is not available; skipped ({path})")
        return
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *CLI, "vendors", "import", str(path),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await proc.communicate()
    lines = output.decode(errors="replace").strip().splitlines()
    if proc.returncode != 0:
        # Not fatal: unknown vendors still flow through the platform, without a vendor.
        print(f"vendors: import of {path} failed (status {proc.returncode}):", file=sys.stderr)
        print("\n".join(lines[-LOG_TAIL_LINES:]), file=sys.stderr)
        return
    print(f"{lines[-1] if lines else 'vendors imported'} ({path})", flush=True)


async def _operate(
    args: argparse.Namespace, infra: Infra, services: list[ServiceProcess], stop: asyncio.Event
) -> dict[str, object]:
    """Simulate and watch until Ctrl-C or --duration; returns the final summary."""
    simulator = None if args.no_simulator else Simulator(customers=args.customers, seed=args.seed)
    collector = Collector(
        [ServiceTarget(s.name, s.url("/metrics"), s.alive) for s in services],
        infra.endpoints.kafka_bootstrap,
        infra.endpoints.database_url,
        security=KafkaSecurity(),
        published=(lambda: simulator.stats.published) if simulator else (lambda: 0),
    )
    sim_stop = asyncio.Event()
    tasks: list[asyncio.Task[object]] = []
    if simulator is not None:
        print(
            f"simulator: {args.customers} customers, {args.rate:g} events/s, seed {args.seed}, "
            f"run {simulator.state.run_id}",
            flush=True,
        )
        tasks.append(
            asyncio.create_task(
                simulator.run(infra.endpoints.kafka_bootstrap, args.rate, sim_stop, KafkaSecurity())
            )
        )
    view_stop = asyncio.Event()
    view = asyncio.create_task(
        run_view(collector, view_stop, live=not args.no_view and is_terminal())
    )
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.duration)
        sim_stop.set()
        await asyncio.gather(*tasks)
        view_stop.set()
        await view
        print("simulator stopped; draining the pipeline", flush=True)
        snapshot = await _drain(collector)
    finally:
        sim_stop.set()
        view_stop.set()
        for task in (*tasks, view):
            task.cancel()
        await collector.close()
    summary: dict[str, object] = {**snapshot.summary(), "duration_s": round(snapshot.elapsed, 1)}
    if simulator is not None:
        summary["duplicates_sent"] = simulator.duplicates
        summary["publish_failed"] = simulator.stats.failed
        summary["published_by_topic"] = dict(simulator.stats.by_topic)
    return summary


async def _drain(collector: Collector) -> Snapshot:
    """Wait (a little) until every consumer group has caught up, for a truthful summary."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        snapshot = await collector.collect()
        lags = [s.lag for s in snapshot.services.values() if s.up]
        if all(lag == 0 for lag in lags) or time.monotonic() > deadline:
            return snapshot
        await asyncio.sleep(0.5)


async def _stop_services(services: list[ServiceProcess]) -> bool:
    """SIGTERM every service, SIGKILL the ones still running after STOP_TIMEOUT_S.

    True when every service was still running and exited with status 0.
    """
    exited_before = {s.name for s in services if not s.alive()}
    for service in services:
        if service.alive():
            service.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not any(s.alive() for s in services):
            break
        await asyncio.sleep(0.1)
    clean = True
    for service in services:
        if service.alive():
            service.proc.kill()
            service.proc.wait(10)
            print(f"killed {service.name}: no exit {STOP_TIMEOUT_S:.0f}s after SIGTERM")
            clean = False
        elif service.name in exited_before:
            clean = False
            status = service.proc.returncode
            print(f"{service.name} had exited by itself (status {status}; {service.log_path})")
        elif service.proc.returncode == 0:
            print(f"stopped {service.name} cleanly (exit 0)", flush=True)
        else:
            clean = False
            print(
                f"{service.name} exited with status {service.proc.returncode}; "
                f"the end of {service.log_path}:\n{service.log_tail()}",
                file=sys.stderr,
            )
    return clean
