"""`loyalty rules load|list|simulate|rerate` and `loyalty adjust`: accrual for operators."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import AdjustmentRequested
from services.accrual import programmes
from services.accrual.handlers import ADJUSTMENT_TOPIC
from services.accrual.rerate import RerateReport, rerate_window
from services.accrual.rules.loader import ProgrammeError, compile_programme, load_text
from services.accrual.rules.model import CustomerClass, Programme
from services.accrual.simulate import format_simulation, read_transaction, simulate
from services.accrual.tables import SCHEMA
from shared.db.engine import create_engine
from shared.infra.embedded import InfraError
from shared.infra.resolve import resolve_endpoints
from shared.messaging.kafka import producer_kwargs
from shared.settings import KafkaSecurity


def register(subparsers: Any) -> None:
    """Add the `rules` command to the `loyalty` CLI."""
    rules = subparsers.add_parser("rules", help="the programme's earning rules (accrual)")
    actions = rules.add_subparsers(dest="rules_action", required=True, metavar="ACTION")

    load = actions.add_parser("load", help="validate a programme file and store it as a version")
    load.add_argument("file", type=Path, metavar="FILE", help="programme YAML (or JSON)")
    load.add_argument("--check", action="store_true", help="validate only, store nothing")
    load.add_argument("--actor", default=getpass.getuser(), help="who loads it (default: you)")
    load.add_argument("--note", default="", help="why, for the record")
    load.set_defaults(func=_load)

    listing = actions.add_parser("list", help="stored programme versions and the current rules")
    listing.add_argument("--json", action="store_true", help="print as JSON")
    listing.set_defaults(func=_list)

    sim = actions.add_parser(
        "simulate", help="rate an enriched transaction (JSON on stdin) without posting"
    )
    sim.add_argument("--json", action="store_true", help="print the result as JSON")
    sim.add_argument("--file", type=Path, help="rate with this programme file, not the stored one")
    sim.add_argument("--segment", help="customer segment (default: the stored class)")
    sim.add_argument("--tier", help="customer tier (default: the stored class)")
    sim.set_defaults(func=_simulate)

    rerate = actions.add_parser(
        "rerate", help="re-rate a window under the current rules; post the differences"
    )
    day = {"type": date.fromisoformat, "required": True, "metavar": "DATE"}
    rerate.add_argument("--from", dest="date_from", help="first day (programme time zone)", **day)
    rerate.add_argument("--to", dest="date_to", help="last day, inclusive", **day)
    rerate.add_argument("--actor", default=getpass.getuser(), help="who runs it (default: you)")
    rerate.add_argument("--dry-run", action="store_true", help="show the differences only")
    rerate.add_argument("--json", action="store_true", help="print the report as JSON")
    rerate.set_defaults(func=_rerate)

    adjust = subparsers.add_parser(
        "adjust", help="request an operator's points adjustment (credit or debit)"
    )
    adjust.add_argument("customer_no", metavar="CUSTOMER_NO")
    adjust.add_argument("points", type=int, metavar="POINTS", help="signed: -200 takes back")
    adjust.add_argument("--currency", choices=("points", "tier_points"), default="points")
    adjust.add_argument("--reason-code", required=True, help="e.g. goodwill, correction")
    adjust.add_argument("--reason", required=True, help="free text, kept with the posting")
    adjust.add_argument("--actor", default=getpass.getuser(), help="who asks (default: you)")
    adjust.add_argument("--id", help="adjustment id (default: a new one); repeat to retry")
    adjust.set_defaults(func=_adjust)


def _engine() -> AsyncEngine:
    # The admin connection, as `loyalty customer show` does; a console role can come later.
    return create_engine(resolve_endpoints().database_url, pool_size=1)


def _load(args: argparse.Namespace) -> int:
    try:
        doc = load_text(args.file.read_text(encoding="utf-8"), str(args.file))
    except OSError as exc:
        print(f"loyalty rules load: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except ProgrammeError as exc:
        print(exc, file=sys.stderr)
        return 1
    programme = compile_programme(doc)
    summary = f"{len(programme.agreements)} agreements, {len(doc.rules)} rules"
    if args.check:
        print(f"{args.file}: valid ({summary})")
        return 0

    async def store() -> programmes.Stored:
        engine = _engine()
        try:
            async with engine.begin() as conn:
                return await programmes.store(
                    conn, doc, source=args.file.name, actor=args.actor, note=args.note
                )
        finally:
            await engine.dispose()

    stored = asyncio.run(store())
    if not stored.created:
        print(f"unchanged: programme version {stored.version} has the same content")
        return 0
    print(f"stored programme version {stored.version} ({summary})")
    for rule_id, version in sorted(stored.new_rule_versions.items()):
        print(f"  rule {rule_id} v{version}" + (" (new)" if version == 1 else " (changed)"))
    return 0


def _list(args: argparse.Namespace) -> int:
    async def read() -> tuple[list[programmes.ProgrammeVersion], Programme]:
        engine = _engine()
        try:
            async with engine.connect() as conn:
                return await programmes.versions(conn), await programmes.current(conn, seed=False)
        finally:
            await engine.dispose()

    stored, current = asyncio.run(read())
    if args.json:
        print(json.dumps(_listing(stored, current), indent=2, default=str))
        return 0
    if not stored:
        print("no programme stored yet: accrual stores the shipped default on first use")
    for v in stored:
        note = f"  ({v.note})" if v.note else ""
        print(f"v{v.version}  {v.loaded_at:%Y-%m-%d %H:%M}  {v.loaded_by:<12} {v.source}{note}")
    print(f"current: {current.name} " + (f"v{current.version}" if current.version else "(default)"))
    for agreement in current.agreements:
        who = f"segments {_names(agreement.segments)}, tiers {_names(agreement.tiers)}"
        print(f"  agreement {agreement.id}: {who}, {agreement.effective}")
        for rule in agreement.rules:
            what = f"{rule.event:<16} {rule.currency:<12}"
            version = f"v{rule.version}" if rule.version else "(not stored)"
            print(f"    {what} {rule.id} {version}  {rule.effective}")
    return 0


def _names(values: frozenset[str] | None) -> str:
    return "any" if values is None else ",".join(sorted(values))


def _listing(stored: list[programmes.ProgrammeVersion], current: Programme) -> dict[str, Any]:
    return {
        "versions": [dataclasses.asdict(v) for v in stored],
        "current": {
            "name": current.name,
            "version": current.version or None,
            "agreements": [
                {
                    "id": a.id,
                    "segments": sorted(a.segments) if a.segments is not None else None,
                    "tiers": sorted(a.tiers) if a.tiers is not None else None,
                    "effective": str(a.effective),
                    "rules": [
                        {
                            "id": r.id,
                            "version": r.version,
                            "event": r.event,
                            "currency": r.currency,
                            "effective": str(r.effective),
                        }
                        for r in a.rules
                    ],
                }
                for a in current.agreements
            ],
        },
    }


def _simulate(args: argparse.Namespace) -> int:
    try:
        tx = read_transaction(json.loads(sys.stdin.read()))
    except json.JSONDecodeError as exc:
        print(f"loyalty rules simulate: stdin is not JSON: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"loyalty rules simulate: not an enriched transaction:\n{exc}", file=sys.stderr)
        return 2
    if args.file:
        try:
            programme = compile_programme(
                load_text(args.file.read_text(encoding="utf-8"), str(args.file))
            )
        except ProgrammeError as exc:
            print(exc, file=sys.stderr)
            return 1
        stored_class = None
    else:
        programme, stored_class = _stored(tx.customer_no)
    customer, source = _class(args, stored_class)
    result = simulate(programme, customer, tx, source)
    print(json.dumps(result, indent=2) if args.json else format_simulation(result))
    return 0


def _stored(customer_no: str) -> tuple[Programme, CustomerClass | None]:
    async def read() -> tuple[Programme, CustomerClass | None]:
        engine = _engine()
        try:
            async with engine.connect() as conn:
                programme = await programmes.current(conn, seed=False)
                row = (
                    await conn.execute(
                        text(
                            f'SELECT segment, tier FROM "{SCHEMA}".customer_classes '
                            "WHERE customer_no = :c"
                        ),
                        {"c": customer_no},
                    )
                ).first()
                return programme, CustomerClass(row.segment, row.tier) if row else None
        finally:
            await engine.dispose()

    try:
        return asyncio.run(read())
    except (InfraError, OSError) as exc:
        print(f"(no database: {exc}; using the shipped default programme)", file=sys.stderr)
        return compile_programme(programmes.default_document()), None


def _class(
    args: argparse.Namespace, stored: CustomerClass | None
) -> tuple[CustomerClass | None, str]:
    if args.segment or args.tier:
        base = stored or CustomerClass("retail", "blue")
        return CustomerClass(args.segment or base.segment, args.tier or base.tier), "given"
    if stored is not None:
        return stored, "stored"
    return None, "programme default"


def _rerate(args: argparse.Namespace) -> int:
    if args.date_to < args.date_from:
        print("loyalty rules rerate: --to is before --from", file=sys.stderr)
        return 2

    async def run() -> RerateReport:
        engine = _engine()
        try:
            return await rerate_window(
                engine, date_from=args.date_from, date_to=args.date_to, actor=args.actor,
                dry_run=args.dry_run,
            )  # fmt: skip
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    if args.json:
        print(json.dumps(_report(report), indent=2, default=str))
        return 0
    verb = "would post" if report.dry_run else "posted"
    print(
        f"rerate {report.run_id}: {report.date_from}..{report.date_to} under programme "
        f"v{report.programme_version}: {report.transactions} transactions, "
        f"{verb} {report.adjustments} adjustments"
    )
    for currency, points in sorted(report.points.items()):
        print(f"  {currency:<12} {points:+}")
    return 0


def _report(report: RerateReport) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "date_from": report.date_from,
        "date_to": report.date_to,
        "programme_version": report.programme_version,
        "dry_run": report.dry_run,
        "transactions": report.transactions,
        "adjustments": report.adjustments,
        "points": report.points,
        "lines": [
            {**{n: getattr(x, n) for n in x.__slots__}, "points": x.points} for x in report.lines
        ],
    }


def _adjust(args: argparse.Namespace) -> int:
    """Publish the request; accrual posts it once per adjustment id (retrying is safe)."""
    now = datetime.now(UTC)
    try:
        request = AdjustmentRequested(
            message_id=f"adjustment:{args.id}" if args.id else f"adjustment:{uuid.uuid4()}",
            sent_at=now,
            adjustment_id=args.id or f"ADJ-{now:%Y%m%d}-{uuid.uuid4().hex[:12]}",
            customer_no=args.customer_no,
            currency=args.currency,
            points=args.points,
            actor=args.actor,
            reason_code=args.reason_code,
            reason_text=args.reason,
            requested_at=now,
        )
    except ValidationError as exc:
        print(f"loyalty adjust: {exc}", file=sys.stderr)
        return 2

    async def publish() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=resolve_endpoints().kafka_bootstrap,
            **producer_kwargs(KafkaSecurity()),
        )
        await producer.start()
        try:
            await producer.send_and_wait(
                ADJUSTMENT_TOPIC,
                request.model_dump_json().encode(),
                key=request.customer_no.encode(),
            )
        finally:
            await producer.stop()

    asyncio.run(publish())
    print(f"adjustment {request.adjustment_id} requested: {request.points:+} {request.currency} "
          f"for {request.customer_no}")  # fmt: skip
    return 0
