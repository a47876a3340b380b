"""`loyalty vendors import FILE.csv`: load the vendor master."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from services.vendor_matching.domain import Vendor
from services.vendor_matching.master import ImportReport, import_vendors
from services.vendor_matching.tables import SCHEMA
from services.vendor_matching.vendors_csv import parse_vendor_csv
from shared.db.engine import create_engine, runtime_url
from shared.infra.resolve import resolve_endpoints
from shared.messaging.uow import UnitOfWork
from shared.settings import PlatformSettings, service_settings


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
    platform = PlatformSettings()
    endpoints = resolve_endpoints(platform)
    engine = create_engine(
        runtime_url(SCHEMA, endpoints.database_url, platform, service_settings(SCHEMA)),
        pool_size=1,
    )
    try:
        async with engine.begin() as conn:
            uow = UnitOfWork(conn, SCHEMA)
            report = await import_vendors(uow, vendors)
            await uow.flush_outbox()
        return report
    finally:
        await engine.dispose()
