"""The benchmark's helper processes: the bank and a vendor gateway, each its own OS process.

They are separate systems in real life, and separate processes here so that publishing a
million transactions does not delay the measuring of redemption decisions. The parent talks
to an agent over its stdin and stdout, one JSON line at a time:

    parent -> agent   {spec}        the agent connects, then answers {"ready": true}
    parent -> agent   go            start (the bank publishes, the gateway sends requests)
    parent -> agent   stop          (gateway) stop sending; collect the last decisions
    agent  -> parent  {result}      the agent's measurements; then it exits

    python -m shared.bench.agent bank|gateway
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

log = logging.getLogger(__name__)

Spec = dict[str, Any]
Result = dict[str, Any]


class Control:
    """The agent's side of the conversation with its parent."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.go = asyncio.Event()
        self.stop = asyncio.Event()
        self._listening: asyncio.Task[None] | None = None

    @staticmethod
    def say(payload: dict[str, Any]) -> None:
        sys.stdout.buffer.write(orjson.dumps(payload) + b"\n")
        sys.stdout.buffer.flush()

    def ready(self) -> None:
        self.say({"ready": True})
        self._listening = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            line = await self.reader.readline()
            word = line.strip()
            if word == b"go":
                self.go.set()
            elif word == b"stop" or not line:  # a closed pipe: the parent is gone
                self.go.set()
                self.stop.set()
                return


async def _stdin() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _serve(role: Callable[[Spec, Control], Awaitable[Result]]) -> None:
    reader = await _stdin()
    spec: Spec = orjson.loads(await reader.readline())
    result = await role(spec, Control(reader))
    Control.say(result)


class AgentError(RuntimeError):
    """A helper process failed; the message holds the end of what it wrote to stderr."""


class Agent:
    """The parent's handle on one helper process."""

    def __init__(self, role: str, spec: Spec) -> None:
        self.role, self.spec = role, spec
        self.proc: asyncio.subprocess.Process | None = None
        # A file, not a pipe: an agent that logs a lot must never block on a full pipe.
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in kill/result)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self, timeout: float = 60.0) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shared.bench.agent", self.role,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self.stderr, limit=2**26,
        )  # fmt: skip
        self._send(orjson.dumps(self.spec))
        answer = await self._line(timeout)
        if answer.get("ready") is not True:
            raise AgentError(f"{self.role}: unexpected answer {answer!r}")

    def go(self) -> None:
        self._send(b"go")

    def stop(self) -> None:
        self._send(b"stop")

    async def result(self, timeout: float | None = None) -> Result:
        found = await self._line(timeout)
        assert self.proc is not None  # noqa: S101 (started above)
        await self.proc.wait()
        self.stderr.close()
        return found

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        self.stderr.close()

    def error_tail(self, lines: int = 20) -> str:
        if self.stderr.closed:
            return ""
        self.stderr.seek(0)
        text = self.stderr.read().decode(errors="replace").strip()
        return "\n".join(text.splitlines()[-lines:])

    def _send(self, line: bytes) -> None:
        if self.proc is None or self.proc.stdin is None:
            raise AgentError(f"{self.role} is not running")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.proc.stdin.write(line + b"\n")

    async def _line(self, timeout: float | None) -> Result:
        assert self.proc is not None  # noqa: S101
        assert self.proc.stdout is not None  # noqa: S101
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            await self.proc.wait()
            raise AgentError(
                f"{self.role} exited with status {self.proc.returncode}:\n{self.error_tail()}"
            )
        found: Result = orjson.loads(line)
        return found


def main(argv: list[str] | None = None) -> None:
    from shared.bench.bank import publish  # noqa: PLC0415 (one role per process)
    from shared.bench.gateway import probe  # noqa: PLC0415

    args = sys.argv[1:] if argv is None else argv
    roles: dict[str, Callable[[Spec, Control], Awaitable[Result]]] = {
        "bank": publish,
        "gateway": probe,
    }
    if len(args) != 1 or args[0] not in roles:
        raise SystemExit(f"usage: python -m shared.bench.agent {'|'.join(roles)}")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(_serve(roles[args[0]]))


if __name__ == "__main__":
    main()
