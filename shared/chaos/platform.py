"""A platform of its own for a chaos run: embedded infrastructure and every service as a process.

It lives under a project-local home (`.loyalty/chaos-<pid>` by default) so that it never
disturbs a developer's `loyalty up` or the test session's infrastructure, and it can kill and
restart any one service, or PostgreSQL, while traffic flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared import up
from shared.infra import embedded
from shared.infra.embedded import EmbeddedState, Endpoints, free_port
from shared.liveview import http_get
from shared.settings import SERVICES

READY_TIMEOUT_S = 120.0


class PlatformError(RuntimeError):
    """The chaos platform could not be started."""


@dataclass
class ChaosPlatform:
    home: Path
    keep: bool = False  # leave the data (and logs) behind for inspection
    # The earning rules to store before any service starts (None: the shipped default).
    programme: Path | None = None
    state: EmbeddedState | None = None
    services: dict[str, up.ServiceProcess] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def endpoints(self) -> Endpoints:
        if self.state is None:
            raise PlatformError("the platform is not started")
        return self.state.endpoints

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    async def start(self) -> None:
        """Infrastructure, topics, migrations, then every service, ready."""
        self.state = await asyncio.to_thread(embedded.up, self.home)
        infra = up.Infra(self.state.endpoints, embedded=True, started_here=True)
        try:
            await up._prepare(infra)  # noqa: SLF001 (the same steps as `loyalty up`)
        except up.StartupError as exc:
            raise PlatformError(str(exc)) from exc
        self.env = up._service_env(infra)  # noqa: SLF001
        if self.programme is not None:
            await self._cli("rules", "load", str(self.programme), "--note", "chaos run")
        for name in SERVICES:
            self.spawn(name)
        await self.wait_ready(SERVICES)
        # The simulator's vendor master: the wallet lets only known vendors redeem.
        await up.import_simulated_vendors(self.home, self.env)

    async def _cli(self, *words: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *up.CLI, *words, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await proc.communicate()
        if proc.returncode != 0:
            text = output.decode(errors="replace")[-2000:]
            raise PlatformError(f"`loyalty {' '.join(words)}` failed:\n{text}")

    def spawn(self, name: str) -> up.ServiceProcess:
        """Start one service process (as `loyalty up` does), not waiting for it to be ready."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            log.write(f"--- chaos: starting {name} on port {port}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                [sys.executable, *up.CLI, "run", name],
                env={**self.env, f"LOYALTY_{name.upper()}_HTTP_PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        service = up.ServiceProcess(name, port, log_path, proc)
        self.services[name] = service
        return service

    async def wait_ready(self, names: tuple[str, ...] | list[str]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        waiting = set(names)
        while waiting:
            for name in sorted(waiting):
                service = self.services[name]
                if not service.alive():
                    raise PlatformError(
                        f"{name} exited with {service.proc.returncode}:\n{service.log_tail()}"
                    )
                with contextlib.suppress(OSError, TimeoutError, ValueError):
                    await http_get(service.url("/readyz"), timeout=1.0)
                    waiting.discard(name)
            if waiting and time.monotonic() > deadline:
                raise PlatformError(f"not ready after {READY_TIMEOUT_S:.0f}s: {sorted(waiting)}")
            if waiting:
                await asyncio.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL: no drain, no goodbye, like a node dying."""
        service = self.services[name]
        if service.alive():
            service.proc.send_signal(signal.SIGKILL)
        service.proc.wait(10)

    async def restart_postgres(self) -> None:
        """Stop PostgreSQL immediately (no checkpoint: a crash) and start it again."""
        if self.state is None:
            raise PlatformError("the platform is not started")
        await asyncio.to_thread(embedded.restart_postgres, self.state, kill=True)

    def dead_services(self) -> list[str]:
        return [name for name, service in self.services.items() if not service.alive()]

    async def stop(self) -> bool:
        """Stop the services (SIGTERM), the infrastructure, and remove the home unless kept."""
        clean = await up._stop_services(list(self.services.values()))  # noqa: SLF001
        self.services.clear()
        await asyncio.to_thread(embedded.down, self.home, wipe=not self.keep)
        if not self.keep:
            shutil.rmtree(self.home, ignore_errors=True)
        return clean
