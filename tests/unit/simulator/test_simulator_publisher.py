"""The publisher keeps the configured rate and sends each message as valid contract JSON."""

from __future__ import annotations

import asyncio

from contracts.registry import model_for
from shared.simulator.publisher import Simulator


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        self.sent.append((topic, value, key))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_about_rate_events_a_second_are_published_keyed_by_customer():
    simulator = Simulator(customers=50, seed=1, run_id="TEST01")
    producer = RecordingProducer()
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(1.0, stop.set)
    await simulator._pace(producer, 200, stop)  # type: ignore[arg-type]
    assert 150 <= len(producer.sent) <= 210
    assert simulator.stats.published == len(producer.sent)
    for topic, value, key in producer.sent:
        message = model_for(topic).model_validate_json(value)
        assert key.decode() == message.customer_no  # type: ignore[attr-defined]


async def test_the_same_seed_publishes_the_same_customers():
    first, again = Simulator(customers=20, seed=9), Simulator(customers=20, seed=9)
    assert [c.customer_no for c in first.state.customers] == [
        c.customer_no for c in again.state.customers
    ]
    assert first.state.run_id != again.state.run_id  # so that message ids stay unique
