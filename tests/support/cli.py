"""Run the `loyalty` command as an operator would: a subprocess on the session's infrastructure."""

from __future__ import annotations

import os
import subprocess
import sys

from shared.infra.embedded import Endpoints


def loyalty(
    endpoints: Endpoints, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LOYALTY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOYALTY_DATABASE_URL": endpoints.database_url,
        "LOYALTY_INFRA_MODE": "embedded",
    }
    return subprocess.run(
        [sys.executable, "-c", "from shared.cli import main; main()", *args],
        env=env, capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip
