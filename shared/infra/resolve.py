"""Where is the broker and the database? External settings first, then the embedded pair."""

from __future__ import annotations

from shared.infra.embedded import Endpoints, InfraError, read_state, state_is_running
from shared.settings import PlatformSettings


def resolve_endpoints(platform: PlatformSettings | None = None) -> Endpoints:
    platform = platform or PlatformSettings()
    if platform.kafka_bootstrap and platform.database_url:
        return Endpoints(platform.kafka_bootstrap, platform.database_url)
    state = read_state(platform.home)
    if state is not None and state_is_running(state):
        return state.endpoints
    raise InfraError(
        "no infrastructure: run `loyalty infra up` (embedded) or set both "
        "LOYALTY_KAFKA_BOOTSTRAP and LOYALTY_DATABASE_URL (external)"
    )
