"""What the run must earn, from the programme in force and accrual's own rule engine.

The bench stores the programme it is given (the flat launch rule by default,
services/accrual/programme/flat.yaml, as chaos runs do) and reads back the version in force;
after the run it regenerates the bank's exact messages (the traffic is seeded; each chunk's
send time comes back from the bank) and rates each with accrual's pure engine, as vendor
matching would enrich it. That is exact for a programme whose points depend only on what the
bank's message says (event, amount, channel, MCC, date): no period caps, no conditions on the
matched vendor, one class of customer. For any other programme the expectation is reported as
not exact and the points are not checked against it (the counts still are).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from services.accrual import programmes
from services.accrual.rules.evaluate import evaluate
from services.accrual.rules.loader import load_text
from services.accrual.rules.model import Activity, Condition, Programme
from shared.bench.workload import (
    ACCOUNT_TOPIC,
    CARD_TOPIC,
    DEBIT_ORDER_TOPIC,
    BankTraffic,
    Message,
    Workload,
)
from shared.db.engine import create_engine

FLAT_PROGRAMME = Path(__file__).parents[2] / "services" / "accrual" / "programme" / "flat.yaml"
DEBIT_ORDER_STATUS = {"00": "posted", "RV": "reversed"}  # as vendor matching maps them


def _vendor_dependent(condition: Condition) -> bool:
    return (
        condition.vendors is not None
        or condition.categories is not None
        or condition.partner is not None
    )


def unpredictable(programme: Programme) -> list[str]:
    """Why the programme's points cannot be told from the bank's messages alone (none: exact)."""
    reasons: list[str] = []
    if len(programme.agreements) > 1 and any(
        a.segments is not None or a.tiers is not None for a in programme.agreements
    ):
        reasons.append("agreements differ by customer class")
    reasons += [
        f"exclusion {e.id} depends on the matched vendor"
        for e in programme.exclusions
        if _vendor_dependent(e.when)
    ]
    for rule in programme.rules().values():
        if rule.cap_per_period is not None:
            reasons.append(f"rule {rule.id} has a period cap")
        conditions = [
            *(m.when for m in rule.multipliers),
            *(e.when for e in rule.exclusions),
            *(p.when for p in rule.promotions),
        ]
        if any(_vendor_dependent(c) for c in conditions):
            reasons.append(f"rule {rule.id} depends on the matched vendor")
        if any(p.cap_per_period is not None for p in rule.promotions):
            reasons.append(f"a promotion of rule {rule.id} has a period cap")
    return reasons


def activity_of_message(message: Message) -> Activity:
    """The facts accrual rates, as vendor matching enriches the bank's message."""
    body: dict[str, Any] = orjson.loads(message.value)
    if message.topic == CARD_TOPIC:
        return Activity(
            source="card", transaction_id=body["transaction_id"], status=body["status"],
            kind=body["kind"], customer_no=body["customer_no"], amount_cents=body["amount_cents"],
            transaction_at=datetime.fromisoformat(body["transaction_at"]),
            direction="credit" if body["kind"] == "refund" else "debit", channel="card",
            mcc=body["mcc"],
        )  # fmt: skip
    if message.topic == ACCOUNT_TOPIC:
        return Activity(
            source="account", transaction_id=body["transaction_id"], status="posted",
            kind=body["kind"], customer_no=body["customer_no"], amount_cents=body["amount_cents"],
            transaction_at=datetime.fromisoformat(body["transaction_at"]),
            direction=body["direction"], channel=body["channel"],
        )  # fmt: skip
    if message.topic == DEBIT_ORDER_TOPIC:
        reversal = body["status"] == "RV"
        return Activity(
            source="debit_order", transaction_id=body["transaction_id"],
            status=DEBIT_ORDER_STATUS.get(body["status"], "unpaid"),
            kind="reversal" if reversal else "payment", customer_no=body["customer_no"],
            amount_cents=body["amount_cents"],
            transaction_at=datetime.fromisoformat(body["action_date"] + "T00:00:00+00:00"),
            direction="credit" if reversal else "debit", channel="debit_order",
            partner=True,  # the run's originators are the vendor master's partners
        )  # fmt: skip
    raise ValueError(f"not a bank transaction topic: {message.topic}")


@dataclass
class Expectation:
    """Per currency: how many postings (transactions earning in it) and how many points."""

    programme: dict[str, Any]
    exact: bool
    reasons: list[str]
    postings: Counter[str] = field(default_factory=Counter)
    points: Counter[str] = field(default_factory=Counter)
    transactions: int = 0

    def add(self, programme: Programme, activity: Activity) -> None:
        self.transactions += 1
        for currency, rating in evaluate(programme, None, activity, {}).ratings.items():
            if rating.points > 0:
                self.postings[currency] += 1
                self.points[currency] += rating.points

    def by_currency(self) -> dict[str, dict[str, int]]:
        return {
            c: {"postings": self.postings[c], "points": self.points[c]}
            for c in sorted(self.postings)
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "programme": self.programme,
            "exact": self.exact,
            "reasons": self.reasons,
            "transactions": self.transactions,
            "currencies": self.by_currency(),
        }


def expect(programme: Programme, messages: Iterable[Message]) -> Expectation:
    """Rate every message under the programme (see the module docstring)."""
    reasons = unpredictable(programme)
    found = Expectation(
        programme={"name": programme.name, "version": programme.version or None},
        exact=not reasons,
        reasons=reasons,
    )
    for message in messages:
        found.add(programme, activity_of_message(message))
    return found


def regenerate(
    workload: Workload,
    chunk_starts: Sequence[int],
    chunk_times: Sequence[float],
    today: date,
    published: int,
) -> Iterator[Message]:
    """The bank's messages again, byte for byte: same seed, chunks and send times."""
    from shared.bench.bank import rfc3339  # noqa: PLC0415 (aiokafka only where it is needed)

    traffic = BankTraffic(workload)
    bounds = [*chunk_starts[1:], published]
    for start, stop, moment in zip(chunk_starts, bounds, chunk_times, strict=True):
        yield from traffic.chunk(start, stop, rfc3339(moment), today)


async def programme_in_force(database_url: str, load: Path | None) -> Programme:
    """Store `load` (unless it is the latest version already); the programme then in force."""
    engine = create_engine(database_url, pool_size=1)
    try:
        if load is not None:
            text = await asyncio.to_thread(load.read_text, encoding="utf-8")
            doc = load_text(text, str(load))
            async with engine.begin() as conn:
                await programmes.store(
                    conn, doc, source=load.name, actor="loyalty bench e2e", note="bench run"
                )
        async with engine.connect() as conn:
            return await programmes.current(conn, seed=False)
    finally:
        await engine.dispose()
