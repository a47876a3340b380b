"""A service's HTTP query API: an ASGI app under uvicorn, in the service's own event loop.

The service owns the signals (SIGTERM sets its stop event); uvicorn installs none of its own
here, and `stop()` lets the requests in hand finish before the service closes its engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

GRACE_S = 5.0


class _InLoopServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the service's own handlers stop it, through stop()


class QueryServer:
    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.host, self.port = host, port
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=int(GRACE_S),
        )
        self._server = _InLoopServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Listen (OSError when the port is taken) and return the port."""
        sock = socket.create_server((self.host, self.port))  # SO_REUSEADDR: TIME_WAIT is free
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self._server.serve([sock]), name="query-api")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError(f"query API on {self.host}:{self.port} did not start")
            await asyncio.sleep(0.01)
        return self.port

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), GRACE_S * 2)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
