"""`loyalty up` brings the whole platform up on embedded infrastructure and down again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.infra import embedded
from shared.settings import SERVICES
from shared.up import platform_processes

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

# Not /tmp: PostgreSQL runs as an unprivileged user that must be able to reach its data.
HOME = Path(".loyalty") / f"up-test-{os.getpid()}"


@pytest.fixture
def home():
    shutil.rmtree(HOME, ignore_errors=True)
    yield HOME
    embedded.down(HOME, wipe=True)  # only does something if `up` failed to clean up
    shutil.rmtree(HOME, ignore_errors=True)


def _summary(stdout: str) -> dict[str, object]:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{") and '"published"' in line:
            summary: dict[str, object] = json.loads(line)
            return summary
    raise AssertionError(f"no JSON summary line in the output:\n{stdout}")


def test_up_runs_the_simulated_bank_through_every_service_and_stops_cleanly(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env["LOYALTY_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-c", "from shared.cli import main; main()", "up",
         "--duration", "20", "--no-view", "--rate", "20", "--customers", "50"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output

    processes = platform_processes()
    assert {p.service for p in processes} == set(SERVICES)
    for process in processes:
        assert f"started {process.name} " in result.stdout, output
        assert f"stopped {process.name} cleanly (exit 0)" in result.stdout, output
        log = (home / "logs" / f"{process.name}.log").read_text().replace(": ", ":")
        assert f'"msg":"{process.service} stopped"' in log, log[-2000:]
    # The wallet's gateway lane runs in a process of its own, its main lane in another.
    gateway = (home / "logs" / "redemption-gateway.log").read_text()
    assert "redemption started, lanes: gateway" in gateway, gateway[-2000:]
    wallet = (home / "logs" / "redemption.log").read_text()
    assert "redemption started, lanes: main" in wallet, wallet[-2000:]

    summary = _summary(result.stdout)
    assert isinstance(summary["published"], int)
    assert summary["published"] > 200  # about 20 a second for 20 seconds
    processed = summary["processed"]
    assert isinstance(processed, dict)
    assert set(processed) == {p.name for p in processes}
    assert processed["vendor_matching"] > 0
    assert processed["redemption"] > 0  # postings
    assert processed["redemption-gateway"] > 0  # the simulated gateways' requests
    assert summary["dead_letters"] == 0, output

    # `up` started the embedded infrastructure, so `up` stopped it.
    assert "embedded infrastructure stopped" in result.stdout
    assert embedded.read_state(home) is None
    assert (home / "sim-vendors.csv").exists()
