"""`loyalty wallet show|expire`: a customer's wallet, and the expiry run by hand."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.redemption.expiry import expire_lots
from services.redemption.tables import SCHEMA
from shared.db.engine import create_engine, runtime_url
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


def _engine() -> AsyncEngine:
    platform = PlatformSettings()
    endpoints = resolve_endpoints(platform)
    return create_engine(
        runtime_url(SCHEMA, endpoints.database_url, platform, service_settings(SCHEMA)),
        pool_size=1,
    )


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
