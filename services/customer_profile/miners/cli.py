"""`loyalty report cohorts|promotion|tiers [--json]` and `loyalty report rebuild MINER`.

The reports read the miners' tables; `rebuild` empties a miner's tables and inbox entries and
moves it to a new consumer group, so its topics are replayed from the beginning (by the
running service, or here with --replay).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from services.customer_profile.miners import MINERS, miner
from services.customer_profile.miners.cohorts import cohort_report
from services.customer_profile.miners.promotion import PromotionWindow, promotion_report
from services.customer_profile.miners.tiers import tier_report
from services.customer_profile.tables import SCHEMA
from shared.cli_groups import report_actions
from shared.db.engine import create_engine, runtime_url
from shared.infra.resolve import resolve_endpoints
from shared.settings import PlatformSettings, service_settings

T = TypeVar("T")


def register(subparsers: Any) -> None:
    """Add the miners' reports to `loyalty report`."""
    actions = report_actions(subparsers)
    cohorts = actions.add_parser(
        "cohorts",
        help="issue cohorts: redeemed, expired, outstanding by month of issue (breakage input)",
        description="For the points issued in each month: the cumulative shares redeemed, "
        "expired, taken back and outstanding at the end of every month since.",
    )
    _common(cohorts)
    cohorts.set_defaults(func=_cohorts)

    promotion = actions.add_parser(
        "promotion",
        help="a promotion's participants, points and spend against the period before it",
        description="Participants and bonus points of a promotion, and the spend at its "
        "vendors during it against an equal period just before it. Dates and vendors come "
        "from the programme file unless given.",
    )
    promotion.add_argument("promotion_id", metavar="PROMOTION_ID")
    promotion.add_argument(
        "--programme", type=Path, help="the programme (rules) file (default: the shipped one)"
    )
    promotion.add_argument("--from", dest="starts", type=date.fromisoformat, metavar="DATE")
    promotion.add_argument("--to", dest="ends", type=date.fromisoformat, metavar="DATE")
    promotion.add_argument("--vendors", help="comma-separated vendor ids")
    promotion.add_argument("--json", action="store_true", help="print JSON")
    promotion.set_defaults(func=_promotion)

    tiers = actions.add_parser(
        "tiers", help="members per tier at every month end", description="Tier distribution."
    )
    _common(tiers)
    tiers.set_defaults(func=_tiers)

    rebuild = actions.add_parser(
        "rebuild",
        help="empty a miner's tables and replay its topics from the beginning",
        description="Empties the miner's tables and inbox entries and moves it to a new "
        "consumer group: the running service replays its topics into the empty tables (and "
        "a miner that rides the service's lane is applied by the lane again once it has "
        "caught up with it). With --replay this command replays them itself, up to the "
        "topics' current ends, and hands a riding miner over to the lane if it can.",
    )
    rebuild.add_argument("miner", choices=[m.name for m in MINERS] + ["all"])
    rebuild.add_argument("--replay", action="store_true", help="replay here, then exit")
    rebuild.set_defaults(func=_rebuild)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of", type=date.fromisoformat, metavar="DATE", help="YYYY-MM-DD (default: today)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def _on_database(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    platform = PlatformSettings()
    database_url = resolve_endpoints(platform).database_url
    url = runtime_url(SCHEMA, database_url, platform, service_settings(SCHEMA))

    async def run() -> T:
        engine = create_engine(url, pool_size=2)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _today(args: argparse.Namespace) -> date:
    return args.as_of or datetime.now(UTC).date()


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=_json_default))


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _cohorts(args: argparse.Namespace) -> int:
    as_of = _today(args)

    async def work(engine: AsyncEngine) -> list[dict[str, Any]]:
        async with engine.connect() as conn:
            return await cohort_report(conn, as_of)

    report = _on_database(work)
    if args.json:
        _print_json({"as_of": as_of, "cohorts": report})
        return 0
    table = Table(title=f"Issue cohorts as of {as_of}")
    for name in ("cohort", "month", "issued", "redeemed", "expired", "reversed", "outstanding"):
        table.add_column(name, justify="left" if name in {"cohort", "month"} else "right")
    for cohort in report:
        for month in cohort["months"]:
            table.add_row(
                f"{cohort['cohort']:%Y-%m}",
                f"{month['period']:%Y-%m}",
                str(month["issued"]),
                _pct(month["redeemed_share"]),
                _pct(month["expired_share"]),
                _pct(month["reversed_share"]),
                f"{month['outstanding']} ({_pct(month['outstanding_share'])})",
            )
    Console().print(table)
    return 0


def promotion_window(args: argparse.Namespace) -> PromotionWindow:
    """The promotion's dates and vendors: the command line's, else the programme's."""
    starts, ends = args.starts, args.ends
    vendors = tuple(v.strip() for v in args.vendors.split(",") if v.strip()) if args.vendors else ()
    if starts is None or ends is None or not vendors:
        from services.accrual.programmes import default_document, document_of  # noqa: PLC0415

        doc = document_of(args.programme) if args.programme else default_document()
        found = [p for r in doc.rules for p in r.promotions if p.id == args.promotion_id]
        if not found:
            raise SystemExit(
                f"loyalty report promotion: {args.promotion_id} is not in the programme; "
                "give --from, --to and --vendors"
            )
        promotion = found[0]
        starts = starts or promotion.effective.from_
        ends = ends or promotion.effective.to
        if not vendors and promotion.when is not None and promotion.when.vendors:
            vendors = tuple(sorted(promotion.when.vendors))
    if starts is None or ends is None or ends < starts:
        raise SystemExit("loyalty report promotion: the promotion needs a from and a to date")
    return PromotionWindow(args.promotion_id, starts, ends, vendors)


def _promotion(args: argparse.Namespace) -> int:
    window = promotion_window(args)

    async def work(engine: AsyncEngine) -> dict[str, Any]:
        async with engine.connect() as conn:
            return await promotion_report(conn, window)

    report = _on_database(work)
    if args.json:
        _print_json(report)
        return 0
    before = report["before"]
    print(
        f"promotion {report['promotion_id']}: {report['starts']} to {report['ends']} "
        f"(before: {before['starts']} to {before['ends']}), "
        f"vendors {', '.join(report['vendors']) or '-'}"
    )
    print(
        f"  participants {report['participants']}, postings {report['postings']}, "
        f"bonus points awarded {report['points_awarded']} "
        f"(points of those postings {report['points_of_postings']})"
    )
    table = Table(title="Spend at the promoted vendors (cents)")
    for name in ("who", "before", "during", "lift", "customers before", "customers during"):
        table.add_column(name, justify="left" if name == "who" else "right")
    for who, cell in report["spend"].items():
        lift = "-" if cell["lift"] is None else _pct(cell["lift"])
        table.add_row(
            who.replace("_", " "),
            str(cell["before"]["spend_cents"]),
            str(cell["during"]["spend_cents"]),
            lift,
            str(cell["before"]["customers"]),
            str(cell["during"]["customers"]),
        )
    Console().print(table)
    return 0


def _tiers(args: argparse.Namespace) -> int:
    as_of = _today(args)

    async def work(engine: AsyncEngine) -> list[dict[str, Any]]:
        async with engine.connect() as conn:
            return await tier_report(conn, as_of)

    series = _on_database(work)
    if args.json:
        _print_json({"as_of": as_of, "months": series})
        return 0
    tiers = list(series[-1]["tiers"]) if series else []
    table = Table(title=f"Members per tier as of {as_of}")
    table.add_column("month end")
    for name in [*tiers, "members"]:
        table.add_column(name, justify="right")
    for month in series:
        cells = [
            f"{month['tiers'][t]['members']} ({_pct(month['tiers'][t]['share'])})" for t in tiers
        ]
        table.add_row(f"{month['as_of']}", *cells, str(month["members"]))
    Console().print(table)
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from services.customer_profile.miners.runner import MinerRun, reset  # noqa: PLC0415
    from shared.runtime import ProducerDeadLetters, consumer_group  # noqa: PLC0415

    chosen = list(MINERS) if args.miner == "all" else [miner(args.miner)]
    bootstrap = resolve_endpoints(PlatformSettings()).kafka_bootstrap
    settings = service_settings("customer_profile")

    async def work(engine: AsyncEngine) -> list[tuple[str, int, int, bool]]:
        from aiokafka import AIOKafkaProducer  # noqa: PLC0415

        from shared.messaging.kafka import producer_kwargs  # noqa: PLC0415
        from shared.runtime import fetch_limits  # noqa: PLC0415
        from shared.settings import KafkaSecurity  # noqa: PLC0415

        done: list[tuple[str, int, int, bool]] = []
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_kwargs(KafkaSecurity()))
        await producer.start()
        try:
            for m in chosen:
                generation = await reset(engine, m)
                read, riding = 0, False
                if args.replay:
                    sink = ProducerDeadLetters(producer, f"customer_profile.miner.{m.name}")
                    run = MinerRun(m, engine, bootstrap, sink, fetch_limits=fetch_limits(settings))
                    read = await run.catch_up()
                    if m.rides_lane:
                        lane = settings.consumer_group or consumer_group("customer_profile")
                        riding = (await run.hand_over(lane)).done
                done.append((m.name, generation, read, riding))
        finally:
            await producer.stop()
        return done

    for name, generation, read, riding in _on_database(work):
        replayed = f", {read} records replayed" if args.replay else ""
        print(f"miner {name}: emptied, now generation {generation}{replayed}")
        if args.replay and miner(name).rides_lane:
            print(
                f"miner {name}: "
                + (
                    "caught up with the service's lane, which applies it from now on"
                    if riding
                    else "ahead of the service's lane: the running service hands it over "
                    "once its lane has passed it"
                )
            )
    return 0
