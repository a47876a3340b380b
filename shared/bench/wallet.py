"""Watches loyalty.wallet.balance-changed.v1 for the run's earnings: when each landed."""

from __future__ import annotations

import asyncio
import time
from array import array
from collections import Counter
from datetime import datetime

import orjson
from aiokafka import AIOKafkaConsumer

from shared.bench.gateway import assign_at_end, tail_consumer
from shared.bench.verify import SPENDABLE
from shared.bench.workload import BALANCE_TOPIC, Workload


class WalletWatcher:
    """Counts each earn posting of the run once; keeps when its spendable points landed."""

    def __init__(self, bootstrap: str, workload: Workload) -> None:
        self.workload = workload
        self.consumer: AIOKafkaConsumer = tail_consumer(
            bootstrap, fetch_max_wait_ms=100, max_partition_fetch_bytes=8 * 1024 * 1024
        )
        n = workload.transactions
        self.landed = array("d", bytes(8 * n))  # occurred_at (epoch) of each spendable earning
        self.seen: dict[str, bytearray] = {}
        self.counts: Counter[str] = Counter()
        self.redelivered = 0
        self.last_progress = time.monotonic()

    @property
    def complete(self) -> bool:
        return self.counts[SPENDABLE] >= self.workload.transactions

    async def start(self) -> None:
        await self.consumer.start()
        await assign_at_end(self.consumer, BALANCE_TOPIC)

    async def stop(self) -> None:
        await self.consumer.stop()

    def take(self, value: bytes, marker: bytes) -> bool:
        """Count one balance change; True when it is a first sighting of this run's earning."""
        if marker not in value:
            return False
        body = orjson.loads(value)
        if body.get("cause") != "earn":
            return False
        index = self.workload.index_of(body.get("reference", ""))
        if index is None or index >= self.workload.transactions:
            return False
        currency = body["currency"]
        seen = self.seen.setdefault(currency, bytearray(self.workload.transactions))
        if seen[index]:
            self.redelivered += 1  # the relay may publish an event twice; the wallet did not
            return False
        seen[index] = 1
        self.counts[currency] += 1
        if currency == SPENDABLE:
            self.landed[index] = datetime.fromisoformat(body["occurred_at"]).timestamp()
        return True

    async def watch(self, published: asyncio.Event, stall_s: float) -> bool:
        """Until every spendable earning landed (True) or nothing moved for stall_s after
        publishing ended (False)."""
        marker = f":{self.workload.transaction_prefix}".encode()
        while not self.complete:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=5_000)
            now = time.monotonic()
            fresh = False
            for records in batches.values():
                for record in records:
                    if record.value is not None and self.take(record.value, marker):
                        fresh = True
            if fresh:
                self.last_progress = now
            elif published.is_set() and now - self.last_progress > stall_s:
                return False
        return True

    def missing(self, limit: int = 20) -> list[int]:
        """Indexes of transactions whose spendable points have not landed (the first few)."""
        out: list[int] = []
        for index, landed in enumerate(self.landed):
            if not landed:
                out.append(index)
                if len(out) >= limit:
                    break
        return out

    def completions(self) -> list[tuple[int, float]]:
        """(transaction index, when its spendable points landed) for every landed one."""
        return [(i, t) for i, t in enumerate(self.landed) if t > 0]
