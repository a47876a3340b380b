"""`loyalty vendors ...`: load the vendor master, answer reviews, match offline."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from services.vendor_matching import repository
from services.vendor_matching.domain import Vendor
from services.vendor_matching.handlers import decide_reviews
from services.vendor_matching.learning import ClosedReview, ReviewDecision
from services.vendor_matching.master import ImportReport, import_vendors, vendor_exists
from services.vendor_matching.offline import register_match
from services.vendor_matching.tables import SCHEMA
from services.vendor_matching.vendors_csv import parse_vendor_csv
from shared.db.engine import create_engine, runtime_url
from shared.infra.resolve import resolve_endpoints
from shared.messaging.uow import UnitOfWork
from shared.settings import PlatformSettings, service_settings

_DECISION_HELP = (
    "Applied at once in vendor_matching's database, the way the service applies a "
    "decision from loyalty.match.review-decided.v1 (the same use case): the review is "
    "closed (audited) and the matcher learns from it. Exit status 1 when the review is "
    "unknown or already decided, or the vendor is unknown."
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    vendors = sub.add_parser("vendors", help="the vendor master (vendor_matching)")
    actions = vendors.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser(
        "import",
        help="upsert vendors from a CSV file (idempotent); publishes vendor changes",
        description="CSV header: vendor_id,name,category,partner,accepts_redemptions,"
        "merchant_ids,user_codes,aliases (booleans true/false; lists separated by |). "
        "Bad rows are reported with their line number; the good ones are still imported. "
        "Exit status 1 when any row was rejected.",
    )
    load.add_argument("file", type=Path, help="the vendor master CSV")
    load.set_defaults(func=_import)

    confirm = actions.add_parser(
        "confirm",
        help="answer a match review: the descriptor is this vendor (becomes an exact alias)",
        description=_DECISION_HELP,
    )
    confirm.add_argument("review_id", metavar="REVIEW_ID")
    confirm.add_argument("vendor_id", metavar="VENDOR_ID")
    confirm.add_argument("--actor", required=True, help="who decided (recorded and audited)")
    confirm.set_defaults(func=_decide, decision="confirm")

    reject = actions.add_parser(
        "reject",
        help="answer a match review: the descriptor is not this vendor (never proposed again)",
        description=_DECISION_HELP + " Without VENDOR_ID every candidate is rejected.",
    )
    reject.add_argument("review_id", metavar="REVIEW_ID")
    reject.add_argument("vendor_id", metavar="VENDOR_ID", nargs="?")
    reject.add_argument("--actor", required=True, help="who decided (recorded and audited)")
    reject.set_defaults(func=_decide, decision="reject")

    register_match(actions)


@asynccontextmanager
async def _unit_of_work() -> AsyncIterator[UnitOfWork]:
    """One transaction in vendor_matching's schema, as its runtime role."""
    platform = PlatformSettings()
    endpoints = resolve_endpoints(platform)
    engine = create_engine(
        runtime_url(SCHEMA, endpoints.database_url, platform, service_settings(SCHEMA)),
        pool_size=1,
    )
    try:
        async with engine.begin() as conn:
            yield UnitOfWork(conn, SCHEMA)
    finally:
        await engine.dispose()


def _import(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"loyalty vendors import: no such file: {path}")
        return 2
    with path.open(encoding="utf-8", newline="") as handle:
        vendors, errors = parse_vendor_csv(handle)
    for error in errors:
        print(f"{path}:{error.line_no}: rejected: {error.reason}")
    report = asyncio.run(_apply(vendors))
    print(
        f"vendors: {len(report.created)} created, {len(report.changed)} changed, "
        f"{report.unchanged} unchanged, {len(errors)} rejected"
    )
    return 1 if errors else 0


async def _apply(vendors: list[Vendor]) -> ImportReport:
    async with _unit_of_work() as uow:
        report = await import_vendors(uow, vendors)
        await uow.flush_outbox()
    return report


def _decide(args: argparse.Namespace) -> int:
    decision = ReviewDecision(args.review_id, args.decision, args.vendor_id, args.actor)
    closed, refusal = asyncio.run(_decide_now(decision))
    if closed is None:
        print(f"loyalty vendors {args.decision}: {refusal}")
        return 1
    key = closed.descriptor_norm or "(nothing a statement could name)"
    if decision.decision == "confirm":
        print(
            f"review {closed.review_id} confirmed by {closed.actor}: {key!r} is {closed.vendor_id}"
        )
    else:
        rejected = closed.vendor_id or ", ".join(closed.candidates) or "no candidate"
        print(f"review {closed.review_id} rejected by {closed.actor}: {key!r} is not {rejected}")
    return 0


async def _decide_now(decision: ReviewDecision) -> tuple[ClosedReview | None, str]:
    async with _unit_of_work() as uow:
        state = await repository.review_state(uow.conn, decision.review_id)
        if state is None:
            return None, f"no review {decision.review_id!r}"
        if state != "open":
            return None, f"review {decision.review_id!r} is already {state}"
        if decision.vendor_id and not await vendor_exists(uow.conn, decision.vendor_id):
            return None, f"no active vendor {decision.vendor_id!r}"
        closed = await decide_reviews(uow, [decision])
    if not closed:  # decided by someone else in the meantime
        return None, f"review {decision.review_id!r} was decided meanwhile"
    return closed[0], ""
