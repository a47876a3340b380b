"""The miners on the real broker and Postgres: events published to their topics, each miner
consuming on its own group into its own tables, the reports' numbers against expectations
worked out by hand, and a rebuild that replays the topics into the same tables.

The events are dated 2019 (months and vendors no other test uses), so the reports' numbers
are this module's alone even when other tests feed the same topics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import BalanceChanged, PointsPosted, ProfileChanged, TransactionEnriched
from services.customer_profile import cli
from services.customer_profile.miners import MINERS, miner
from services.customer_profile.miners.base import Miner
from services.customer_profile.miners.cohorts import cohort_report
from services.customer_profile.miners.promotion import PromotionWindow, promotion_report
from services.customer_profile.miners.runner import MinerRun, reset
from services.customer_profile.miners.tiers import tier_report
from shared.db.engine import create_engine, runtime_url
from shared.infra.embedded import Endpoints
from shared.messaging.consumer import DeadLetter
from shared.messaging.inbox import Claim, claim
from shared.settings import PlatformSettings, service_settings
from tests.support import messages as m
from tests.support.db import eventually, fetch
from tests.support.kafka import Bank
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.integration

SERVICE = "customer_profile"
SAST = ZoneInfo("Africa/Johannesburg")
RUN = uuid.uuid4().hex[:8]
CUSTOMERS: set[str] = set()  # this module's customers (the `published` fixture's)


def at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    """A local (Johannesburg) moment."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), SAST).replace(
        hour=hour, minute=minute
    )


class Letters:
    def __init__(self) -> None:
        self.sent: list[DeadLetter] = []

    async def send(self, letters: Sequence[DeadLetter]) -> None:
        self.sent.extend(letters)


@pytest.fixture(scope="module")
async def engine(pg_admin_url: str) -> AsyncIterator[AsyncEngine]:
    runtime = create_engine(
        runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
    )
    yield runtime
    await runtime.dispose()


async def publish(endpoints: Endpoints, topic: str, messages: Sequence[BaseModel]) -> None:
    async with Bank(endpoints.kafka_bootstrap) as bank:
        for message in messages:
            payload = message.model_dump_json().encode()
            await bank.publish(topic, payload, key=str(message.customer_no))  # type: ignore[attr-defined]


async def catch_up(engine: AsyncEngine, endpoints: Endpoints, m_: Miner) -> int:
    letters = Letters()
    read = await MinerRun(m_, engine, endpoints.kafka_bootstrap, letters).catch_up()
    # The topics are the session's: other tests' hostile messages are dead-lettered as invalid;
    # nothing may fail in processing.
    assert [letter for letter in letters.sent if not _invalid(letter)] == []
    return read


def _invalid(letter: DeadLetter) -> bool:
    """Dead-lettered for what it is (other tests' hostile messages share the topics)."""
    return letter.reason.startswith(("schema_violation", "invalid_json"))


async def snapshot(url: str, m_: Miner) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for table in m_.tables:
        rows = await fetch(url, f"SELECT * FROM customer_profile.{table.name}")
        tables[table.name] = sorted(tuple(r) for r in rows)
    return tables


def ours(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of this module's run: those naming one of its customers, vendors or
    promotions, or dated 2019 (the months only it uses). The session's platform may still be
    publishing earlier modules' traffic (a bench's), which a later catch-up or replay
    applies: a comparison of whole tables would depend on when it was taken."""

    def mine(value: Any) -> bool:
        if isinstance(value, str):
            return value in CUSTOMERS or value.endswith(f"-{RUN}")
        return isinstance(value, date) and value.year == 2019

    return {name: [r for r in rows if any(map(mine, r))] for name, rows in tables.items()}


async def ours_in(url: str, m_: Miner) -> dict[str, list[tuple[Any, ...]]]:
    return ours(await snapshot(url, m_))


def duplicates(m_: Miner) -> float:
    """The messages the miner's runs in this process met again (already claimed)."""
    service = f"customer_profile.miner.{m_.name}"
    return sum(
        REGISTRY.get_sample_value(
            "loyalty_messages_total", {"service": service, "topic": t, "outcome": "duplicate"}
        )
        or 0.0
        for t in m_.topics
    )


# --- the events --------------------------------------------------------------------------


def balance(customer: str, cause: str, change: int, when: datetime, **extra: Any) -> BalanceChanged:
    return BalanceChanged.model_validate(
        {
            "message_id": m.new_id(f"balance:{cause}"),
            "sent_at": m.now(),
            "customer_no": customer,
            "currency": extra.get("currency", "points"),
            "change": change,
            "balance": 0,  # the miner does not read it
            "held": 0,
            "cause": cause,
            "reference": m.new_id("ref"),
            "occurred_at": when.isoformat(),
        }
    )


def posting(
    customer: str,
    points: int,
    reason: str | None,
    *,
    currency: str = "points",
    kind: str = "earn",
    reverses: str | None = None,
) -> PointsPosted:
    posting_id = m.new_id(kind)
    return PointsPosted.model_validate(
        {
            "message_id": f"posted:{posting_id}",
            "sent_at": m.now(),
            "posting_id": posting_id,
            "customer_no": customer,
            "currency": currency,
            "points": points,
            "kind": kind,
            "source_transaction_id": m.new_id("tx"),
            "reverses_posting_id": reverses,
            "expires_at": None,
            "rule_id": "flat-points-per-r10",
            "rule_version": 1,
            "earned_at": at("2019-06-11").isoformat(),
            "actor": None,
            "reason": reason,
        }
    )


def spend(
    customer: str, vendor: str, cents: int, when: datetime, *, kind: str = "purchase", **extra: Any
) -> TransactionEnriched:
    return TransactionEnriched.model_validate(
        {
            "message_id": m.new_id("enriched"),
            "sent_at": m.now(),
            "source": "card",
            "source_message_id": m.new_id("card"),
            "transaction_id": m.new_id("CT")[:40],
            "status": extra.get("status", "posted"),
            "kind": kind,
            "original_transaction_id": None,
            "customer_no": customer,
            "account_no": None,
            "amount_cents": cents,
            "currency": "ZAR",
            "transaction_at": when.isoformat(),
            "descriptor": vendor.upper(),
            "mcc": "5411",
            "channel": "card",
            "direction": "credit" if kind == "refund" else "debit",
            "vendor_id": vendor,
            "vendor_name": vendor,
            "vendor_category": "groceries",
            "partner": True,
            "match_method": "name",
            "match_confidence": 90,
        }
    )


def profile(customer: str, version: int, tier: str, when: datetime, **extra: Any) -> ProfileChanged:
    return ProfileChanged.model_validate(
        {
            "message_id": f"profile:{customer}:{version}",
            "sent_at": m.now(),
            "customer_no": customer,
            "status": extra.get("status", "active"),
            "loyalty_member": extra.get("loyalty_member", True),
            "first_name": "Lindiwe",
            "last_name": "Dube",
            "preferred_language": "en",
            "segment": "retail",
            "tier": tier,
            "cashback_account_no": None,
            "profile_version": version,
            "changed_at": when.isoformat(),
        }
    )


@pytest.fixture(scope="module")
async def published(endpoints: Endpoints, engine: AsyncEngine, pg_admin_url: str) -> str:
    """Every miner's events on the broker, and every miner caught up with them."""
    del pg_admin_url  # migrated, topics created
    x, y = m.customer_no(), m.customer_no()
    CUSTOMERS.update((x, y))
    redeemed = balance(x, "redemption", -1200, at("2019-03-05"))
    await publish(
        endpoints,
        "loyalty.wallet.balance-changed.v1",
        [
            balance(x, "earn", 1000, at("2019-01-15")),
            balance(x, "earn", 600, at("2019-02-10")),
            balance(x, "hold", 0, at("2019-03-01")),
            redeemed,
            redeemed,  # redelivered: counted once
            balance(x, "expiry", -100, at("2019-04-01")),
            balance(x, "cancel", 200, at("2019-04-20")),
            balance(x, "earn", 999, at("2019-04-20"), currency="tier_points"),  # not spendable
            balance(y, "earn", 400, at("2019-01-31", 23, 30)),  # still January, locally
            balance(y, "reversal", -50, at("2019-02-01")),
            balance(y, "capture", -100, at("2019-02-15")),
        ],
    )
    promo, a, b, other = (f"{name}-{RUN}" for name in ("promo", "vendor-a", "vendor-b", "other"))
    p1, p2, n = m.customer_no(), m.customer_no(), m.customer_no()
    CUSTOMERS.update((p1, p2, n))
    reason = f"card_purchase under agreement retail, promotion {promo} (+{{bonus}})"
    refunded = posting(p2, 100, reason.format(bonus=50))
    await publish(
        endpoints,
        "loyalty.points.posted.v1",
        [
            posting(p1, 200, reason.format(bonus=100)),
            posting(p2, 100, reason.format(bonus=50)),
            refunded,
            # a refund of 30% of that purchase takes back 30 points, 15 of them bonus
            posting(p2, -30, "refund", kind="reversal", reverses=refunded.posting_id),
            posting(p2, 40, reason.format(bonus=20), currency="tier_points"),  # not spendable
            posting(n, 100, f"card_purchase, promotion other-{RUN} (+50)"),  # another one
            posting(n, 30, "card_purchase under agreement retail"),  # no promotion
        ],
    )
    await publish(
        endpoints,
        "loyalty.transaction.enriched.v1",
        [
            spend(p1, a, 10_000, at("2019-06-11")),  # during
            spend(p1, a, 4_000, at("2019-06-07")),  # before
            spend(p2, b, 6_000, at("2019-06-12")),  # during
            spend(p2, b, 1_000, at("2019-06-13"), kind="refund"),  # during, a refund
            spend(n, a, 3_000, at("2019-06-10", 0, 30)),  # during: its first half hour
            spend(n, a, 2_000, at("2019-06-06")),  # before
            spend(n, a, 500, at("2019-06-09", 23, 30)),  # before: its last half hour
            spend(n, a, 9_999, at("2019-06-11"), status="authorized"),  # not spend yet
            spend(n, other, 7_777, at("2019-06-11")),  # not a promoted vendor
            spend(p1, a, 8_888, at("2019-06-05")),  # before the period before
            spend(p1, a, 5_555, at("2019-06-14", 0, 30)),  # after the promotion
        ],
    )
    t1, t2, t3, t4 = (m.customer_no() for _ in range(4))
    CUSTOMERS.update((t1, t2, t3, t4))
    await publish(
        endpoints,
        "loyalty.customer.profile-changed.v1",
        [
            profile(t1, 1, "blue", at("2019-01-10")),
            profile(t1, 2, "silver", at("2019-02-15")),
            profile(t1, 3, "gold", at("2019-03-20")),
            profile(t2, 1, "blue", at("2019-01-12")),
            profile(t2, 2, "blue", at("2019-02-01")),  # a name change: no move
            profile(t2, 3, "blue", at("2019-03-05"), status="closed"),
            profile(t3, 1, "blue", at("2019-02-20")),
            profile(t3, 3, "silver", at("2019-03-01")),
            profile(t3, 2, "blue", at("2019-02-25")),  # older, arrives late: ignored
            profile(t4, 1, "blue", at("2019-01-05"), loyalty_member=False),
            profile(t4, 2, "blue", at("2019-02-05")),
        ],
    )
    for each in MINERS:
        # From the beginning, on the miner's own group: a miner another module's service
        # handed over to its lane is applied by no one here.
        await reset(engine, each)
        await catch_up(engine, endpoints, each)
    return promo


# --- the reports -------------------------------------------------------------------------


def _by_cohort(report: list[dict[str, Any]]) -> dict[date, dict[str, Any]]:
    return {c["cohort"]: c for c in report if c["cohort"].year == 2019}


async def test_issue_cohorts_share_redeemed_expired_and_outstanding_month_by_month(
    engine: AsyncEngine, published: str
) -> None:
    del published
    async with engine.connect() as conn:
        cohorts = _by_cohort(await cohort_report(conn, date(2019, 4, 30)))
    jan, feb = cohorts[date(2019, 1, 1)], cohorts[date(2019, 2, 1)]
    assert set(cohorts) == {date(2019, 1, 1), date(2019, 2, 1)}
    # January: x 1000 + y 400; y's reversal (50) and capture (100) in February; x's
    # redemption of 1200 takes January's 1000 first (March).
    assert [(mo["period"].month, mo["redeemed"], mo["reversed"], mo["outstanding"])
            for mo in jan["months"]] == [
        (1, 0, 0, 1400), (2, 100, 50, 1250), (3, 1100, 50, 250), (4, 1100, 50, 250),
    ]  # fmt: skip
    assert (jan["issued"], jan["expired"], jan["outstanding_share"]) == (1400, 0, 0.1786)
    assert jan["redeemed_share"] == round(1100 / 1400, 4)
    # February: x 600; 200 redeemed in March; in April 100 expire and the cancel gives the
    # 200 back.
    months = [
        (mo["period"].month, mo["redeemed"], mo["expired"], mo["outstanding"])
        for mo in feb["months"]
    ]
    assert months == [(2, 0, 0, 600), (3, 200, 0, 400), (4, 0, 100, 500)]
    assert (feb["redeemed_share"], feb["expired_share"], feb["outstanding_share"]) == (
        0.0,
        round(100 / 600, 4),
        round(500 / 600, 4),
    )
    async with engine.connect() as conn:  # as of March, April has not happened
        march = _by_cohort(await cohort_report(conn, date(2019, 3, 31)))
    assert march[date(2019, 2, 1)]["outstanding"] == 400


async def test_promotion_response_against_the_equal_period_before(
    engine: AsyncEngine, published: str
) -> None:
    promo = published
    window = PromotionWindow(
        promo, date(2019, 6, 10), date(2019, 6, 13), (f"vendor-a-{RUN}", f"vendor-b-{RUN}")
    )
    async with engine.connect() as conn:
        report = await promotion_report(conn, window)
    assert report["before"] == {"starts": date(2019, 6, 6), "ends": date(2019, 6, 9)}
    assert (report["participants"], report["postings"]) == (2, 3)
    assert (report["points_awarded"], report["points_of_postings"]) == (200 - 15, 400 - 30)
    participants, everyone = report["spend"]["participants"], report["spend"]["all_customers"]
    assert participants["during"] == {"spend_cents": 15_000, "transactions": 2, "customers": 2}
    assert participants["before"] == {"spend_cents": 4_000, "transactions": 1, "customers": 1}
    assert participants["lift"] == 2.75
    assert everyone["during"] == {"spend_cents": 18_000, "transactions": 3, "customers": 3}
    assert everyone["before"] == {"spend_cents": 6_500, "transactions": 3, "customers": 2}
    assert everyone["lift"] == round((18_000 - 6_500) / 6_500, 4)


async def test_tier_distribution_at_every_month_end(engine: AsyncEngine, published: str) -> None:
    del published
    async with engine.connect() as conn:
        series = await tier_report(conn, date(2019, 3, 31))
    members = {
        s["as_of"]: {t: v["members"] for t, v in s["tiers"].items() if v["members"]}
        for s in series
        if s["as_of"].year == 2019
    }
    assert members == {
        date(2019, 1, 31): {"blue": 2},
        date(2019, 2, 28): {"blue": 3, "silver": 1},
        date(2019, 3, 31): {"blue": 1, "silver": 1, "gold": 1},
    }


# --- independence, exactly once, rebuild ------------------------------------------------


async def test_each_miner_claims_in_its_own_inbox_namespace_and_a_second_run_adds_nothing(
    engine: AsyncEngine, endpoints: Endpoints, pg_admin_url: str, published: str
) -> None:
    del published
    before = {m_.name: ours(await snapshot(pg_admin_url, m_)) for m_ in MINERS}
    for each in MINERS:
        # Committed: the second run starts where the first ended and meets nothing it has
        # claimed (what it reads is traffic that arrived since, the session's).
        met = duplicates(each)
        await catch_up(engine, endpoints, each)
        assert duplicates(each) == met
        rows = await fetch(
            pg_admin_url,
            "SELECT DISTINCT topic FROM customer_profile.inbox WHERE starts_with(topic, $1)",
            each.inbox_prefix,
        )
        assert sorted(r["topic"] for r in rows) == sorted(
            each.inbox_prefix + t for t in each.topics
        )
    assert {m_.name: ours(await snapshot(pg_admin_url, m_)) for m_ in MINERS} == before


async def test_a_rebuild_replays_the_topics_into_the_same_tables(
    engine: AsyncEngine, endpoints: Endpoints, pg_admin_url: str, published: str
) -> None:
    del published
    before = {m_.name: ours(await snapshot(pg_admin_url, m_)) for m_ in MINERS}
    assert all(before["cohorts"].values())  # every table has rows to rebuild
    cohorts = miner("cohorts")
    generation = await reset(engine, cohorts)
    assert all(rows == [] for rows in (await snapshot(pg_admin_url, cohorts)).values())
    assert not await fetch(
        pg_admin_url,
        "SELECT 1 FROM customer_profile.inbox WHERE starts_with(topic, $1)",
        cohorts.inbox_prefix,
    )
    # the others are untouched
    for other in MINERS:
        if other is not cohorts:
            assert ours(await snapshot(pg_admin_url, other)) == before[other.name]
    assert await catch_up(engine, endpoints, cohorts) > 0  # under the new group
    assert ours(await snapshot(pg_admin_url, cohorts)) == before["cohorts"]
    [row] = await fetch(
        pg_admin_url,
        "SELECT generation FROM customer_profile.report_miners WHERE miner = 'cohorts'",
    )
    assert row["generation"] == generation


async def test_a_running_miner_notices_a_rebuild_and_replays_into_the_emptied_tables(
    engine: AsyncEngine, endpoints: Endpoints, pg_admin_url: str, published: str
) -> None:
    del published
    tiers = miner("tiers")
    before = ours(await snapshot(pg_admin_url, tiers))
    assert all(before.values())
    stop = asyncio.Event()
    letters = Letters()
    running = MinerRun(tiers, engine, endpoints.kafka_bootstrap, letters, idle_check_s=0.5)
    task = asyncio.create_task(running.run(stop))
    try:
        await asyncio.sleep(1.0)  # consuming, idle: nothing new
        await reset(engine, tiers)
        rebuilt = await eventually(
            lambda: ours_in(pg_admin_url, tiers), lambda s: s == before, timeout=60
        )
        assert rebuilt == before
    finally:
        stop.set()
        # With the platform up, its customer_profile mines in the same group: joining that
        # group can keep this consumer in a rebalance for a while; it need not finish it.
        done, _ = await asyncio.wait({task}, timeout=60)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert [letter for letter in letters.sent if not _invalid(letter)] == []


async def test_the_reporting_tables_match_the_migration(pg_admin_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import Connection

    from services.customer_profile.tables import metadata

    admin = create_engine(pg_admin_url)
    owned = {t.name for m_ in MINERS for t in m_.tables} | {"report_miners"}

    def diff(sync_conn: Connection) -> list[Any]:
        context = MigrationContext.configure(
            sync_conn,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _parents: (
                    name == SERVICE if type_ == "schema" else True
                ),
                "include_object": lambda obj, name, type_, *_: (
                    (type_ != "table" or name in owned)
                    and (
                        type_ == "table"
                        or getattr(obj, "table", None) is None
                        or obj.table.name in owned
                    )
                ),
            },
        )
        return list(compare_metadata(context, metadata))

    try:
        async with admin.connect() as conn:
            differences = await conn.run_sync(diff)
    finally:
        await admin.dispose()
    assert differences == []


@pytest.fixture
def loyalty(
    pg_admin_url: str, endpoints: Endpoints, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> Any:
    """Run a `loyalty` command of this service; returns (exit status, printed output)."""
    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", pg_admin_url)
    monkeypatch.setenv("LOYALTY_INFRA_MODE", "embedded")  # the runtime role's dev password
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))

    def run(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(list(argv))
        status = args.func(args)
        return status, capsys.readouterr().out

    return run


def test_loyalty_report_prints_the_reports_and_rebuilds(
    loyalty: Any, published: str, pg_admin_url: str
) -> None:
    status, out = loyalty("report", "cohorts", "--as-of", "2019-04-30", "--json")
    cohorts = {c["cohort"]: c for c in json.loads(out)["cohorts"]}
    assert status == 0
    assert (cohorts["2019-01-01"]["outstanding"], cohorts["2019-02-01"]["outstanding"]) == (
        250,
        500,
    )
    status, out = loyalty("report", "cohorts", "--as-of", "2019-04-30")
    assert status == 0
    assert "2019-01" in out
    assert "Issue cohorts" in out

    vendors = f"vendor-a-{RUN},vendor-b-{RUN}"
    window = ("--from", "2019-06-10", "--to", "2019-06-13", "--vendors", vendors)
    status, out = loyalty("report", "promotion", published, *window, "--json")
    report = json.loads(out)
    assert status == 0
    assert (report["participants"], report["points_awarded"]) == (2, 185)
    assert report["spend"]["participants"]["lift"] == 2.75
    status, out = loyalty("report", "promotion", published, *window)
    assert "participants 2" in out

    status, out = loyalty("report", "tiers", "--as-of", "2019-03-31", "--json")
    [*_, march] = json.loads(out)["months"]
    assert status == 0
    assert march["as_of"] == "2019-03-31"
    assert march["tiers"]["gold"]["members"] >= 1
    status, out = loyalty("report", "tiers", "--as-of", "2019-03-31")
    assert status == 0
    assert "Members per tier" in out

    # This module's rows (its vendors and promotions end in RUN): the session's platform may
    # still be applying earlier modules' traffic (a bench's) that the replay then includes.
    before = ours(asyncio.run(snapshot(pg_admin_url, miner("promotion"))))
    assert before["report_vendor_spend"]
    assert before["report_promotion_postings"]
    status, out = loyalty("report", "rebuild", "promotion", "--replay")
    assert status == 0
    assert "miner promotion: emptied" in out
    assert "records replayed" in out
    assert ours(asyncio.run(snapshot(pg_admin_url, miner("promotion")))) == before


async def test_the_running_service_mines_with_its_own_groups(
    endpoints: Endpoints, engine: AsyncEngine, published: str
) -> None:
    """`loyalty run customer_profile` runs every miner; a new earning reaches its cohort."""
    del published
    service = ServiceProcess(SERVICE, endpoints).start()
    try:
        customer = m.customer_no()
        await publish(
            endpoints,
            "loyalty.wallet.balance-changed.v1",
            [
                balance(customer, "earn", 700, at("2019-07-04")),
                balance(customer, "redemption", -200, at("2019-08-04")),
            ],
        )

        async def july() -> dict[str, Any] | None:
            async with engine.connect() as conn:
                report = _by_cohort(await cohort_report(conn, date(2019, 8, 31)))
            return report.get(date(2019, 7, 1))

        cohort = await eventually(july, lambda c: c is not None and c["redeemed"] == 200)
        assert cohort is not None
        assert (cohort["issued"], cohort["redeemed"], cohort["outstanding"]) == (700, 200, 500)
    finally:
        assert service.stop() == 0


# --- riding the lane ----------------------------------------------------------------------


async def _state(url: str, name: str) -> tuple[int, bool]:
    [row] = await fetch(
        url,
        "SELECT generation, rebuilding FROM customer_profile.report_miners WHERE miner = $1",
        name,
    )
    return row["generation"], row["rebuilding"]


async def _claimed(url: str, topic: str, messages: Sequence[Any]) -> int:
    """How many of these messages the inbox holds under `topic` (a miner's: prefixed)."""
    [row] = await fetch(
        url,
        "SELECT count(*) AS n FROM customer_profile.inbox "
        "WHERE topic = $1 AND message_id = ANY($2)",
        topic,
        [m.message_id for m in messages],
    )
    return int(row["n"])


async def _lots_of(url: str, customers: Sequence[str]) -> list[tuple[Any, ...]]:
    rows = await fetch(
        url,
        "SELECT customer_no, seq, cohort, issued, remaining, redeemed "
        "FROM customer_profile.report_cohort_lots WHERE customer_no = ANY($1) "
        "ORDER BY customer_no, seq",
        list(customers),
    )
    return [tuple(r) for r in rows]


async def test_a_rebuilding_miner_waits_for_a_lane_that_is_behind_it(
    engine: AsyncEngine, endpoints: Endpoints, pg_admin_url: str, published: str
) -> None:
    del published
    cohorts = miner("cohorts")
    generation = await reset(engine, cohorts)
    run = MinerRun(cohorts, engine, endpoints.kafka_bootstrap, Letters())
    assert await run.catch_up() > 0
    # A lane whose group has consumed nothing is behind the miner on every partition with
    # messages: the miner stays on its own group.
    result = await run.hand_over(f"loyalty.test.never-consumed.{RUN}")
    assert not result.done
    assert result.ahead
    assert await _state(pg_admin_url, "cohorts") == (generation, True)
    with pytest.raises(ValueError, match="does not ride the lane"):
        await MinerRun(miner("tiers"), engine, endpoints.kafka_bootstrap, Letters()).hand_over("g")


async def test_a_rebuild_under_traffic_hands_over_to_the_lane_and_applies_each_message_once(
    endpoints: Endpoints, engine: AsyncEngine, pg_admin_url: str, published: str
) -> None:
    """The service runs; balance changes flow; the cohorts miner is rebuilt mid-stream. It
    catches up on its own group, the lane takes it over, and its lots are exactly what a
    replay of the topic on its own group gives; after the hand-over the lane applies it."""
    del published
    cohorts = miner("cohorts")
    service = ServiceProcess(SERVICE, endpoints).start()
    try:
        riding = await eventually(
            lambda: _state(pg_admin_url, "cohorts"), lambda s: not s[1], timeout=120
        )
        assert riding[1] is False  # caught up with the lane (it read the session's history)
        customers = [m.customer_no() for _ in range(12)]
        earned, rebuilt = 0, 0
        for round_ in range(12):
            batch = []
            for i, customer in enumerate(customers):
                points = 100 + 10 * round_ + i
                earned += points
                batch.append(balance(customer, "earn", points, at("2019-09-01", 8 + round_ % 12)))
                if round_ % 4 == 3:  # redemptions take the oldest lots first: order matters
                    batch.append(balance(customer, "redemption", -150, at("2019-10-02")))
            await publish(endpoints, "loyalty.wallet.balance-changed.v1", batch)
            if round_ == 4:
                rebuilt = await reset(engine, cohorts)
            await asyncio.sleep(0.3)
        await eventually(
            lambda: _state(pg_admin_url, "cohorts"),
            lambda s: s == (rebuilt, False),
            timeout=120,
        )
        lots = await eventually(
            lambda: _lots_of(pg_admin_url, customers),
            lambda rows: sum(r[3] for r in rows) == earned,
            timeout=60,
        )
        assert len(lots) == 12 * 12  # a lot an earning, none twice
        assert sum(r[3] for r in lots) == earned
        assert sum(r[5] for r in lots) == 12 * 3 * 150

        # After the hand-over, the lane applies the miner: no claim in the miner's namespace.
        late = balance(customers[0], "earn", 777, at("2019-11-05"))
        await publish(endpoints, "loyalty.wallet.balance-changed.v1", [late])
        await eventually(
            lambda: _lots_of(pg_admin_url, customers[:1]),
            lambda rows: any(r[3] == 777 for r in rows),
        )
        claims = await fetch(
            pg_admin_url,
            "SELECT topic FROM customer_profile.inbox WHERE message_id = $1 ORDER BY topic",
            late.message_id,
        )
        assert [r["topic"] for r in claims] == ["loyalty.wallet.balance-changed.v1"]
        live = await _lots_of(pg_admin_url, customers)
    finally:
        assert service.stop() == 0
    # The same lots as a replay of the topic on the miner's own group.
    await reset(engine, cohorts)
    assert await catch_up(engine, endpoints, cohorts) > 0
    assert await _lots_of(pg_admin_url, customers) == live


async def test_the_hand_over_applies_what_the_lane_committed_beyond_the_miner_and_no_more(
    endpoints: Endpoints, engine: AsyncEngine, pg_admin_url: str, published: str
) -> None:
    """The service's own lane code, in this process, on a group of its own: a rebuilding
    miner caught up with the topic; the lane then applies five messages (offsets committed
    for three: the last two as if the lane stopped between its database commit and its offset
    commit) and has not read three more. The hand-over applies the five and not the three;
    the lane applies those after it, the miner with them; every lot once."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from contracts.registry import TOPICS
    from services.customer_profile import app
    from shared.messaging.consumer import BatchProcessor

    del published
    topic = "loyalty.wallet.balance-changed.v1"
    cohorts = miner("cohorts")
    generation = await reset(engine, cohorts)
    run = MinerRun(cohorts, engine, endpoints.kafka_bootstrap, Letters())
    await run.catch_up()

    group = f"loyalty.test.lane.{RUN}"
    [subscription] = [s for s in app.definition().subscriptions if s.topic == topic]
    lane = BatchProcessor(SERVICE, engine, {topic: subscription}, Letters())
    consumer = AIOKafkaConsumer(
        bootstrap_servers=endpoints.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(TOPICS[topic].partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        await consumer.commit({tp: await consumer.position(tp) for tp in partitions})

        x = m.customer_no()
        applied = [balance(x, "earn", 10 + i, at("2019-12-02")) for i in range(5)]
        unread = [balance(x, "earn", 100 + i, at("2019-12-03")) for i in range(3)]
        await publish(endpoints, topic, applied)

        async def read_until(ids: set[str]) -> list[Any]:
            got: list[Any] = []
            while ids - {json.loads(r.value)["message_id"] for r in got}:
                batches = await consumer.getmany(timeout_ms=1000)
                got += [r for rs in batches.values() for r in rs]
            return got

        records = await read_until({b.message_id for b in applied})
        await lane.process(records)  # the miner is rebuilding: the lane leaves it alone
        assert await _lots_of(pg_admin_url, [x]) == []
        third = next(
            r for r in records if json.loads(r.value)["message_id"] == applied[2].message_id
        )
        mine = TopicPartition(topic, third.partition)
        offsets = {tp: await consumer.position(tp) for tp in partitions}
        await consumer.commit({**offsets, mine: third.offset + 1})
        # The session's platform runs customer_profile, whose lane reads this topic too: it
        # must not apply the three before the hand-over. Their inbox keys are held here, so
        # its claim of them waits until this transaction ends, after the hand-over.
        async with engine.connect() as held:
            await held.begin()
            await claim(held, SERVICE, [Claim(topic, b.message_id, b"held") for b in unread])
            await publish(endpoints, topic, unread)

            stopping = asyncio.Event()
            stopping.set()  # the service stops: the hand-over rolls back and releases the lane
            assert not (await run.hand_over(group, stop=stopping)).done
            assert await _lots_of(pg_admin_url, [x]) == []
            assert await _state(pg_admin_url, "cohorts") == (generation, True)

            assert (await run.hand_over(group)).done
            lots = await _lots_of(pg_admin_url, [x])
            assert sorted(r[3] for r in lots) == [10, 11, 12, 13, 14]
            # applied by the hand-over, in the miner's namespace
            assert await _claimed(pg_admin_url, cohorts.inbox_prefix + topic, applied) == 5
            await held.rollback()

        consumer.seek(mine, third.offset + 1)  # the lane goes on from its committed offset
        records = await read_until({b.message_id for b in unread})
        await lane.process(records)  # two of them again: duplicates; the miner rides now
        lots = await _lots_of(pg_admin_url, [x])
        assert sorted(r[3] for r in lots) == [10, 11, 12, 13, 14, 100, 101, 102]
        # applied by the lane
        assert await _claimed(pg_admin_url, cohorts.inbox_prefix + topic, unread) == 0
    finally:
        await consumer.stop()
        await lane.close()
