"""Services as real OS processes, the way `loyalty up` and Kubernetes run them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from shared.infra.embedded import Endpoints, free_port
from shared.up import Process, socket_env

LOGS = Path(".loyalty") / "test-logs"


class ServiceProcess:
    def __init__(
        self,
        service: str,
        endpoints: Endpoints,
        extra_env: dict[str, str] | None = None,
        *,
        lanes: str = "",
        name: str = "",
    ):
        self.service = service
        self.lanes = lanes
        self.name = name or service
        self.port = free_port()
        self.env = {
            **os.environ,
            "LOYALTY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
            "LOYALTY_DATABASE_URL": endpoints.database_url,
            "LOYALTY_INFRA_MODE": os.environ.get("LOYALTY_INFRA_MODE", "embedded"),
            f"LOYALTY_{service.upper()}_HTTP_PORT": str(self.port),
            **socket_env(endpoints),  # as `loyalty up` gives it
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, wait_ready: bool = True) -> ServiceProcess:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = (LOGS / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            Process(self.name, self.service, self.lanes).argv(),  # as `loyalty up` runs it
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if wait_ready:
            self.wait_ready()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url("/readyz"), timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout}s")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no drain, exactly like a node dying."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode
