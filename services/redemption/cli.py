"""`loyalty wallet show|expire`, `loyalty report liability` and `loyalty bench redemption`: a
customer's wallet, the expiry run by hand, the programme's points liability, and how fast
the wallet decides."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.accrual import reports as accrual_reports
from services.redemption.expiry import expire_lots
from services.redemption.liability import Liability, liability, wallet_totals
from services.redemption.tables import SCHEMA
from shared.cli_groups import bench_actions, report_actions
from shared.db.engine import create_engine, runtime_url
from shared.infra.embedded import InfraError
from shared.infra.resolve import resolve_endpoints
from shared.messaging.uow import UnitOfWork
from shared.settings import PlatformSettings, service_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    wallet = sub.add_parser("wallet", help="the wallet ledger (redemption)")
    actions = wallet.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="a customer's balance, lots, holds, redemptions")
    show.add_argument("customer_no")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=_show)
    expire = actions.add_parser(
        "expire",
        help="zero every lot past its expiry, posting to breakage (safe to run twice and "
        "while the service runs)",
    )
    expire.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD (default: today)")
    expire.set_defaults(func=_expire)
    report = report_actions(sub).add_parser(
        "liability",
        help="outstanding points by currency and expiry month, held, pending, money value",
        description="The points liability: unexpired lots by expiry month, debt, held and "
        "pending points per currency, and the money value of spendable points at "
        "LOYALTY_REDEMPTION_COST_PER_POINT_CENTS. The ledger as it stands now, seen on the "
        "as-of day: lots expiring before it count as expired (breakage not yet posted).",
    )
    report.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD (default: today)")
    report.add_argument("--json", action="store_true", help="machine-readable output")
    report.set_defaults(func=_liability)
    bench = bench_actions(sub).add_parser(
        "redemption",
        help="redemption decision latency (p50/p95/p99) at a rate, while accruals flow",
        description=(
            "Against a running platform (`loyalty up --no-simulator`, or external): registers "
            "--redeemers customers and grants each --points by adjustment, then a vendor-gateway "
            "process sends redeem requests at --rate for --duration seconds while bank "
            "transactions are published at --accrual-rate, and times each decision from publish "
            "to the decision read back from loyalty.redemption.decided.v1. Exit status: 0 when "
            "every request was answered, 1 otherwise, 2 without infrastructure."
        ),
    )
    bench.add_argument("--rate", type=float, default=500.0, help="requests a second (500)")
    bench.add_argument("--duration", type=float, default=30.0, help="seconds of load (30)")
    bench.add_argument("--redeemers", type=int, default=1_000, help="customers redeeming (1000)")
    bench.add_argument("--points", type=int, default=1_000, help="granted to each first (1000)")
    bench.add_argument(
        "--accrual-rate", type=float, default=200.0,
        help="bank transactions a second meanwhile; 0: none (200)",
    )  # fmt: skip
    bench.add_argument("--seed", type=int, default=42, help="workload seed (42)")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    bench.set_defaults(func=_bench)


def _engine(service: str = SCHEMA) -> AsyncEngine:
    """An engine with this service's runtime role (each schema is read by its owner)."""
    platform = PlatformSettings()
    endpoints = resolve_endpoints(platform)
    return create_engine(
        runtime_url(service, endpoints.database_url, platform, service_settings(service)),
        pool_size=1,
    )


async def liability_report(wallet: AsyncEngine, accrual: AsyncEngine, as_of: date) -> Liability:
    """The wallet's totals (redemption's role) with accrual's pending points (accrual's)."""
    async with wallet.connect() as conn:
        totals = await wallet_totals(conn, as_of)
    async with accrual.connect() as conn:
        pending = await accrual_reports.pending_points(conn, as_of)
    cost = service_settings(SCHEMA).cost_per_point_cents
    return liability(as_of, totals, pending, cost)


def _liability(args: argparse.Namespace) -> int:
    as_of: date = args.as_of or datetime.now(UTC).date()

    async def run() -> Liability:
        wallet, accrual = _engine(), _engine("accrual")
        try:
            return await liability_report(wallet, accrual, as_of)
        finally:
            await wallet.dispose()
            await accrual.dispose()

    report = asyncio.run(run())
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0


async def wallet_view(engine: AsyncEngine, customer_no: str) -> dict[str, Any]:
    """The wallet of one customer, spendable points first, other currencies by name."""
    async with engine.connect() as conn:

        async def rows(sql: str) -> list[dict[str, Any]]:
            result = await conn.execute(text(sql), {"c": customer_no})
            return [dict(r._mapping) for r in result]  # noqa: SLF001

        accounts = await rows(
            f'SELECT currency, balance, held FROM "{SCHEMA}".accounts WHERE customer_no = :c'
        )
        lots = await rows(
            "SELECT lot_id, currency, initial_points AS starting, remaining_points AS current, "
            f'expires_at, posting_id AS source FROM "{SCHEMA}".lots WHERE customer_no = :c '
            "ORDER BY expires_at NULLS LAST, lot_id"
        )
        holds = await rows(
            "SELECT hold_id, vendor_id, request_id, points, state, lapses_at "
            f'FROM "{SCHEMA}".holds WHERE customer_no = :c ORDER BY hold_id'
        )
        redemptions = await rows(
            "SELECT redemption_id, vendor_id, request_id, action, points, outcome, reason_code, "
            f'decided_at FROM "{SCHEMA}".redemptions WHERE customer_no = :c '
            "ORDER BY redemption_id DESC LIMIT 100"
        )
    by_currency = {a["currency"]: a for a in accounts}
    view: dict[str, Any] = {"customer_no": customer_no}
    for currency in sorted(by_currency, key=lambda c: c != "points"):
        account = by_currency[currency]
        body = {
            "balance": account["balance"],
            "held": account["held"],
            "debt": max(0, -account["balance"]),
            "lots": [
                {k: v for k, v in lot.items() if k != "currency"}
                for lot in lots
                if lot["currency"] == currency
            ],
        }
        if currency == "points":
            view.update(body, holds=holds, redemptions=redemptions)
        else:
            view[currency] = body
    return view


def _show(args: argparse.Namespace) -> int:
    async def run() -> dict[str, Any]:
        engine = _engine()
        try:
            return await wallet_view(engine, args.customer_no)
        finally:
            await engine.dispose()

    view = asyncio.run(run())
    if "balance" not in view:
        print(f"no wallet for customer {args.customer_no}")
        return 1
    if args.json:
        print(json.dumps(view, default=str, indent=2))
        return 0
    print(f"customer {view['customer_no']}: {view['balance']} points, {view['held']} held, "
          f"debt {view['debt']}")  # fmt: skip
    for lot in view["lots"]:
        print(f"  lot {lot['lot_id']}: {lot['current']}/{lot['starting']} expires "
              f"{lot['expires_at'] or 'never'} ({lot['source']})")  # fmt: skip
    return 0


def _expire(args: argparse.Namespace) -> int:
    as_of: date = args.as_of or datetime.now(UTC).date()

    async def run() -> tuple[int, int]:
        engine = _engine()
        lots = points = 0
        try:
            while True:
                async with engine.begin() as conn:
                    uow = UnitOfWork(conn, SCHEMA)
                    done = await expire_lots(uow, as_of)
                    await uow.flush_outbox()
                if done == (0, 0):
                    return lots, points
                lots, points = lots + done[0], points + done[1]
        finally:
            await engine.dispose()

    lots, points = asyncio.run(run())
    print(f"expired {lots} lot(s), {points} point(s) to breakage, as of {as_of}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from services.redemption.bench import (  # noqa: PLC0415 (only this command needs them)
        RedemptionBenchOptions,
        run_redemption_bench,
        summary_text,
    )

    if args.rate <= 0 or args.duration <= 0 or args.redeemers <= 0 or args.points <= 0:
        print("loyalty bench redemption: rate, duration, redeemers and points must be positive",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        endpoints = resolve_endpoints()
    except InfraError as exc:
        print(f"loyalty bench redemption: {exc}", file=sys.stderr)
        return 2
    options = RedemptionBenchOptions(
        rate=args.rate, duration_s=args.duration, redeemers=args.redeemers, points=args.points,
        accrual_rate=max(0.0, args.accrual_rate), seed=args.seed,
    )  # fmt: skip
    report = asyncio.run(run_redemption_bench(options, endpoints))
    print(json.dumps(report, indent=2) if args.json else summary_text(report))
    return 0 if report["ok"] else 1
