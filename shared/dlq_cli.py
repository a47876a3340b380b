"""`loyalty dlq list|redrive`: look at dead letters and send them back once their cause is fixed.

A dead letter keeps the original key, bytes and headers, plus `dlq.*` headers naming the
source topic, partition, offset, the service that gave up and why. `redrive` publishes the
original record to its source topic again. It is safe: every consumer's inbox is keyed by
(topic, message_id), so a service that had already applied the message ignores the copy, and
the one that dead-lettered it applies it now (or dead-letters it again, with a new reason).
`redrive` remembers how far it got in a consumer group of its own per dead-letter topic, so
running it twice re-drives nothing twice; `--from-beginning` starts over. With `--service` or
`--reason` nothing is marked done (a later run without them still sees every letter).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from contracts.registry import TOPICS
from shared.infra.embedded import InfraError
from shared.infra.resolve import resolve_endpoints
from shared.messaging.kafka import client_kwargs, producer_kwargs
from shared.settings import KafkaSecurity

POLL_MS = 500
REDRIVE_GROUP = "loyalty.dlq-redrive.{topic}"

DESCRIPTION = """\
Dead-letter topics: `<topic>.dlq` for every topic of the registry.

  loyalty dlq list [--json]                       counts by topic, service and reason
  loyalty dlq list TOPIC.dlq [--json]             the dead letters themselves
  loyalty dlq redrive TOPIC.dlq [--service S] [--reason PREFIX] [--dry-run] [--json]

Fix the cause first (a vendor imported, a bug deployed), then re-drive. Exit status: 0 when
done, 1 when a record could not be re-driven, 2 without infrastructure or for an unknown topic.
"""


@dataclass
class Letter:
    """One dead letter, its dlq.* headers read."""

    record: ConsumerRecord[bytes, bytes]
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = {
            key: value.decode("utf-8", "replace") for key, value in self.record.headers or ()
        }

    @property
    def source_topic(self) -> str:
        topic: str = self.record.topic
        return self.headers.get("dlq.source_topic", topic.removesuffix(".dlq"))

    @property
    def service(self) -> str:
        return self.headers.get("dlq.service", "?")

    @property
    def reason(self) -> str:
        return self.headers.get("dlq.reason", "?")

    def summary(self) -> dict[str, object]:
        return {
            "dlq_topic": self.record.topic,
            "dlq_partition": self.record.partition,
            "dlq_offset": self.record.offset,
            "key": None if self.record.key is None else self.record.key.decode("utf-8", "replace"),
            "source_topic": self.source_topic,
            "source_partition": self.headers.get("dlq.source_partition"),
            "source_offset": self.headers.get("dlq.source_offset"),
            "service": self.service,
            "reason": self.reason,
            "failed_at": self.headers.get("dlq.failed_at"),
            "bytes": len(self.record.value or b""),
        }


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dlq",
        help="dead letters: list them, re-drive them to their topic once the cause is fixed",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="dlq_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="counts by topic, service and reason; or one topic")
    listing.add_argument("topic", nargs="?", metavar="TOPIC.dlq", help="list its dead letters")
    listing.add_argument("--json", action="store_true", help="JSON on stdout")
    listing.set_defaults(func=_list)
    redrive = actions.add_parser("redrive", help="publish dead letters to their source again")
    redrive.add_argument("topic", metavar="TOPIC.dlq")
    redrive.add_argument("--service", help="only what this service dead-lettered")
    redrive.add_argument("--reason", metavar="PREFIX", help="only reasons starting with PREFIX")
    redrive.add_argument("--dry-run", action="store_true", help="say what would be re-driven")
    redrive.add_argument(
        "--from-beginning", action="store_true", help="consider every dead letter again"
    )
    redrive.add_argument("--json", action="store_true", help="JSON on stdout")
    redrive.set_defaults(func=_redrive)


def _dlq_topics() -> list[str]:
    return sorted(topic.dlq for topic in TOPICS.values())


def _check_topic(name: str) -> str | None:
    if name in _dlq_topics():
        return None
    if f"{name}.dlq" in _dlq_topics():
        return f"{name} is not a dead-letter topic; did you mean {name}.dlq?"
    return f"unknown dead-letter topic {name!r} (see `loyalty dlq list`)"


async def read_letters(
    bootstrap: str,
    topic: str,
    security: KafkaSecurity,
    *,
    group: str | None = None,
    from_beginning: bool = True,
) -> tuple[list[Letter], AIOKafkaConsumer]:
    """Every dead letter after the group's committed offsets (all with no group); the
    consumer stays open so that the caller can commit."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **client_kwargs(security),
    )
    await consumer.start()
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()  # noqa: SLF001
        partitions = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    if not tps:
        return [], consumer
    consumer.assign(tps)
    ends = await consumer.end_offsets(tps)
    for tp in tps:
        committed = None if (group is None or from_beginning) else await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
    letters: list[Letter] = []
    remaining = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=POLL_MS)
        for records in batches.values():
            letters.extend(Letter(record) for record in records)
        remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    return letters, consumer


def _list(args: argparse.Namespace) -> int:
    try:
        endpoints = resolve_endpoints()
    except InfraError as exc:
        print(f"loyalty dlq: {exc}", file=sys.stderr)
        return 2
    if args.topic is not None and (problem := _check_topic(args.topic)):
        print(f"loyalty dlq: {problem}", file=sys.stderr)
        return 2
    topics = [args.topic] if args.topic else _dlq_topics()
    return asyncio.run(_list_topics(endpoints.kafka_bootstrap, topics, args))


async def _list_topics(bootstrap: str, topics: Sequence[str], args: argparse.Namespace) -> int:
    security = KafkaSecurity()
    every: list[Letter] = []
    for topic in topics:
        letters, consumer = await read_letters(bootstrap, topic, security)
        await consumer.stop()
        every.extend(letters)
    if args.topic:
        if args.json:
            print(json.dumps([letter.summary() for letter in every]))
        else:
            for letter in every:
                item = letter.summary()
                print(
                    f"{item['dlq_partition']}:{item['dlq_offset']:<8} key={item['key']} "
                    f"{item['service']:<18} {item['reason']}"
                )
            print(f"{len(every)} dead letter(s) on {args.topic}")
        return 0
    counts = Counter(
        (letter.record.topic, letter.service, _reason_kind(letter)) for letter in every
    )
    if args.json:
        print(
            json.dumps(
                [
                    {"dlq_topic": topic, "service": service, "reason": reason, "count": count}
                    for (topic, service, reason), count in sorted(counts.items())
                ]
            )
        )
        return 0
    if not counts:
        print("no dead letters")
        return 0
    for (topic, service, reason), count in sorted(counts.items()):
        print(f"{count:>7}  {topic:<46} {service:<18} {reason}")
    return 0


def _reason_kind(letter: Letter) -> str:
    return letter.reason.split(":", 1)[0]


def _redrive(args: argparse.Namespace) -> int:
    try:
        endpoints = resolve_endpoints()
    except InfraError as exc:
        print(f"loyalty dlq: {exc}", file=sys.stderr)
        return 2
    if problem := _check_topic(args.topic):
        print(f"loyalty dlq: {problem}", file=sys.stderr)
        return 2
    return asyncio.run(_redrive_topic(endpoints.kafka_bootstrap, args))


async def _redrive_topic(bootstrap: str, args: argparse.Namespace) -> int:
    security = KafkaSecurity()
    group = REDRIVE_GROUP.format(topic=args.topic)
    letters, consumer = await read_letters(
        bootstrap, args.topic, security, group=group, from_beginning=args.from_beginning
    )
    chosen = [
        letter
        for letter in letters
        if (args.service is None or letter.service == args.service)
        and (args.reason is None or letter.reason.startswith(args.reason))
    ]
    failed = 0
    try:
        if not args.dry_run and letters:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_kwargs(security))
            await producer.start()
            try:
                for letter in chosen:
                    headers = [
                        (key, value)
                        for key, value in letter.record.headers or ()
                        if not key.startswith("dlq.")
                    ]
                    headers.append(("dlq.redriven_from", f"{args.topic}:{letter.record.offset}"
                                    .encode()))  # fmt: skip
                    await producer.send_and_wait(
                        letter.source_topic,
                        value=letter.record.value,
                        key=letter.record.key,
                        headers=headers,
                    )
            finally:
                await producer.stop()
            # Only now: a crash before this line re-drives again, which the inboxes absorb.
            # With a filter the rest stays for a later run, so nothing is marked done.
            filtered = args.service is not None or args.reason is not None
            last: dict[TopicPartition, int] = {}
            for letter in letters:
                tp = TopicPartition(letter.record.topic, letter.record.partition)
                last[tp] = max(last.get(tp, -1), letter.record.offset)
            if not filtered:
                await consumer.commit({tp: OffsetAndMetadata(o + 1, "") for tp, o in last.items()})
    except Exception as exc:
        failed = len(chosen)
        print(f"loyalty dlq: re-drive failed: {exc}", file=sys.stderr)
    finally:
        await consumer.stop()
    result = {
        "dlq_topic": args.topic,
        "considered": len(letters),
        "redriven": 0 if args.dry_run or failed else len(chosen),
        "would_redrive": len(chosen) if args.dry_run else None,
        "skipped": len(letters) - len(chosen),
        "by_source_topic": dict(Counter(letter.source_topic for letter in chosen)),
    }
    if args.json:
        print(json.dumps(result))
    elif args.dry_run:
        print(f"would re-drive {len(chosen)} of {len(letters)} new dead letter(s) on {args.topic}")
    else:
        print(f"re-drove {result['redriven']} of {len(letters)} new dead letter(s) on {args.topic}")
    return 1 if failed else 0
