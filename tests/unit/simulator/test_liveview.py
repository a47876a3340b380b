"""The live view reads the services' Prometheus counters and summarises them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest

from shared.liveview import (
    ServiceMetrics,
    ServiceSnapshot,
    Snapshot,
    parse_metrics,
    render,
    summary_line,
)


def exposition() -> str:
    registry = CollectorRegistry()
    messages = Counter(
        "loyalty_messages_total", "consumed", ["service", "topic", "outcome"], registry=registry
    )
    relayed = Counter("loyalty_outbox_published_total", "relayed", ["service"], registry=registry)
    messages.labels("vendor_matching", "esb.card.transaction.v1", "processed").inc(70)
    messages.labels("vendor_matching", "esb.account.transaction.v1", "processed").inc(30)
    messages.labels("vendor_matching", "esb.card.transaction.v1", "duplicate").inc(2)
    messages.labels("vendor_matching", "esb.card.transaction.v1", "dead_lettered").inc(1)
    relayed.labels("vendor_matching").inc(99)
    return generate_latest(registry).decode()


def test_counters_are_summed_over_topics_by_outcome():
    assert parse_metrics(exposition()) == ServiceMetrics(
        processed=100, duplicates=2, dead_lettered=1, relayed=99
    )


def test_a_service_without_traffic_reads_as_zero():
    assert parse_metrics("") == ServiceMetrics()


def snapshot() -> Snapshot:
    return Snapshot(
        at=10.0,
        elapsed=20.0,
        services={
            "vendor_matching": ServiceSnapshot(
                up=True, metrics=parse_metrics(exposition()), processed_per_s=12.5, lag=3
            ),
            "accrual": ServiceSnapshot(up=False, metrics=ServiceMetrics(), lag=None),
        },
        dlq_sizes={"esb.card.transaction.v1.dlq": 1, "esb.account.transaction.v1.dlq": 0},
        points_outstanding=None,
        published=400,
        published_per_s=20.0,
    )


def test_the_summary_is_what_a_script_reads():
    summary = snapshot().summary()
    assert summary["published"] == 400
    assert summary["processed"] == {"vendor_matching": 100, "accrual": 0}
    assert summary["dead_letters"] == 1
    assert summary["consumer_lag"] == {"vendor_matching": 3, "accrual": None}


def test_the_plain_line_shows_throughput_lag_and_who_is_down():
    line = summary_line(snapshot())
    assert "published 400 (20/s)" in line
    assert "vendor_matching 12/s lag 3" in line or "vendor_matching 13/s lag 3" in line
    assert "accrual DOWN" in line
    assert "points -" in line


def test_the_live_table_renders():
    from rich.console import Console

    console = Console(width=140, record=True)
    console.print(render(snapshot()))
    text = console.export_text()
    assert "vendor_matching" in text
    assert "down" in text
    assert "esb.card.transaction.v1.dlq 1" in text


def test_without_a_terminal_a_snapshot_is_taken_only_to_be_printed(capsys):
    """Every snapshot costs the broker, the services and PostgreSQL something: the plain view
    takes one as the rates' baseline and then one a printed line, not one a second."""
    import asyncio

    from shared.liveview import run_view

    class Counting:
        taken = 0

        async def collect(self) -> Snapshot:
            self.taken += 1
            return snapshot()

    async def main() -> int:
        collector, stop = Counting(), asyncio.Event()
        view = asyncio.create_task(
            run_view(collector, stop, live=False, interval=0.001, plain_every=0.05)  # type: ignore[arg-type]
        )
        await asyncio.sleep(0.27)
        stop.set()
        await view
        return collector.taken

    taken = asyncio.run(main())
    printed = [line for line in capsys.readouterr().out.splitlines() if "published 400" in line]
    assert 3 <= len(printed) <= 6
    assert taken == len(printed) + 1
