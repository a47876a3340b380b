"""Operators' commands of customer_profile.

`loyalty customer show CUSTOMER_NO`: the single customer view;
`loyalty translations import FILE`: texts in any language, as data;
`loyalty tiers review [--as-of DATE]` and `loyalty tiers show`: the tier ladder at work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from services.customer_profile import catalogue, tier_repository
from services.customer_profile.miners import cli as miners_cli
from services.customer_profile.tables import SCHEMA
from services.customer_profile.tiering import review_moment, review_tiers
from services.customer_profile.translations import (
    RowError,
    TranslationFileError,
    check_rows,
    read_rows,
)
from services.customer_profile.views import single_customer_view
from shared.db.engine import create_engine, runtime_url
from shared.infra.resolve import resolve_endpoints
from shared.settings import PlatformSettings, service_settings

T = TypeVar("T")


def register(subparsers: Any) -> None:
    """Add the `customer`, `translations` and `tiers` commands to the `loyalty` CLI."""
    customer = subparsers.add_parser("customer", help="customer profile and activity")
    actions = customer.add_subparsers(dest="customer_action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="profile, tier, balances and recent activity")
    show.add_argument("customer_no", metavar="CUSTOMER_NO")
    show.add_argument("--json", action="store_true", help="print the view as JSON")
    show.set_defaults(func=_show)

    translations = subparsers.add_parser("translations", help="customer-facing texts by language")
    actions = translations.add_subparsers(
        dest="translations_action", required=True, metavar="ACTION"
    )
    load = actions.add_parser(
        "import",
        help="upsert texts from a CSV or YAML file (idempotent)",
        description="CSV header: text_key,language,text. YAML: a list of {text_key, language, "
        "text} or a mapping text_key: {language: text}. A new language is just new rows. "
        "Bad rows are reported with their line number; the good ones are still imported. "
        "Exit status 1 when any row was rejected.",
    )
    load.add_argument("file", type=Path, help="the .csv, .yaml or .yml file")
    load.set_defaults(func=_import_translations)

    tiers = subparsers.add_parser("tiers", help="the tier ladder and its review")
    actions = tiers.add_subparsers(dest="tiers_action", required=True, metavar="ACTION")
    review = actions.add_parser(
        "review",
        help="review every customer's tier now (the service also does it daily)",
        description="Upgrades customers whose tier points reached a threshold, starts the "
        "grace period of those who fall short, and moves down one tier those whose grace "
        "period is over. Safe to repeat: a second review as of the same day changes nothing.",
    )
    review.add_argument(
        "--as-of", type=date.fromisoformat, metavar="DATE", help="YYYY-MM-DD (default: today)"
    )
    review.set_defaults(func=_review)
    ladder = actions.add_parser("show", help="the tiers, thresholds and policy in force")
    ladder.set_defaults(func=_show_ladder)
    miners_cli.register(subparsers)  # `loyalty report cohorts|promotion|tiers|rebuild`


def _on_database(work: Callable[[AsyncEngine], Awaitable[T]], *, admin: bool = False) -> T:
    """Run `work` with an engine: the service's runtime role, or the admin one to read."""
    platform = PlatformSettings()
    database_url = resolve_endpoints(platform).database_url
    url = (
        database_url
        if admin
        else runtime_url(SCHEMA, database_url, platform, service_settings(SCHEMA))
    )

    async def run() -> T:
        engine = create_engine(url, pool_size=1)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def load_view(database_url: str, customer_no: str) -> dict[str, Any]:
    # The admin connection reads the schema directly; a read-only role can come later.
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await single_customer_view(conn, customer_no)
    finally:
        await engine.dispose()


def _show(args: argparse.Namespace) -> int:
    view = asyncio.run(load_view(resolve_endpoints().database_url, args.customer_no))
    if args.json:
        print(json.dumps(view, indent=2, default=_json_default, ensure_ascii=False))
    else:
        print(format_view(view))
    return 0 if view["profile"] is not None or view["activity"] else 1


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def format_tier(tier: dict[str, Any]) -> str:
    """`Goud (gold): 5200 tier points in 12 months, 9800 to Platinum`."""
    line = (
        f"  tier {tier['name']} ({tier['tier']}): {tier['tier_points']} tier points "
        f"in {tier['window_months']} months"
    )
    if tier["next_tier"] is not None:
        line += f", {tier['points_to_next_tier']} to {tier['next_tier_name']}"
    if tier["at_risk_until"] is not None:
        line += f"; short of it, goes down after {tier['at_risk_until']:%Y-%m-%d}"
    return line


def format_expiries(expiries: list[dict[str, Any]]) -> str:
    """`120 on 2027-05-31, 225 on 2027-11-30`."""
    return ", ".join(f"{e['points']} on {e['expires_at']:%Y-%m-%d}" for e in expiries)


def format_view(view: dict[str, Any]) -> str:
    """The view as text for a terminal."""
    lines = [f"customer {view['customer_no']}"]
    profile = view["profile"]
    if profile is None:
        lines.append("  no profile: the bank has not announced this customer")
    else:
        member = "member" if profile["loyalty_member"] else "not a member"
        lines += [
            f"  {profile['first_name']} {profile['last_name']}  ({profile['status']}, {member})",
            (
                f"  language {profile['preferred_language']}  segment {profile['segment']}  "
                f"profile version {profile['profile_version']}"
            ),
            f"  cash-back account {profile['cashback_account_no'] or '-'}",
        ]
    if view.get("tier"):
        lines.append(format_tier(view["tier"]))
    lines.append("balances")
    for b in view["balances"]:
        lines.append(f"  {b['currency']:<12} {b['balance']:>10}  held {b['held']}")
        if b.get("next_expiries"):
            lines.append(f"  {'':<12} next expiries {format_expiries(b['next_expiries'])}")
    if not view["balances"]:
        lines.append("  none")
    lines.append(f"activity (latest {len(view['activity'])})")
    lines += [
        f"  {a['occurred_at']:%Y-%m-%d %H:%M}  {a['kind']:<12} "
        f"{'' if a['points'] is None else a['points']:>8}  {a['description']}"
        for a in view["activity"]
    ] or ["  none"]
    return "\n".join(lines)


def _import_translations(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"loyalty translations import: no such file: {path}")
        return 2
    try:
        rows = read_rows(
            path.read_text(encoding="utf-8"), yaml_format=path.suffix in {".yaml", ".yml"}
        )
    except (TranslationFileError, UnicodeDecodeError) as error:
        print(f"{path}: not imported: {error}")
        return 2

    async def work(engine: AsyncEngine) -> tuple[catalogue.ImportReport, list[RowError]]:
        async with engine.begin() as conn:
            english = await catalogue.english_texts(conn, {r.text_key for r in rows})
            good, errors = check_rows(rows, english)
            return await catalogue.import_translations(conn, good), errors

    report, errors = _on_database(work)
    for rejected in errors:
        print(f"{path}:{rejected.line_no}: rejected: {rejected.reason}")
    print(
        f"translations: {report.created} created, {report.changed} changed, "
        f"{report.unchanged} unchanged, {len(errors)} rejected"
    )
    return 1 if errors else 0


def _review(args: argparse.Namespace) -> int:
    as_of = review_moment(args.as_of or datetime.now(UTC).date())
    report = _on_database(lambda engine: review_tiers(engine, as_of))
    again = "" if report.first_review else " (reviewed before as of this day: nothing repeated)"
    print(
        f"tier review as of {as_of:%Y-%m-%d}: {report.reviewed} reviewed, {report.upgraded} up, "
        f"{report.downgraded} down, {report.at_risk} at risk{again}"
    )
    return 0


def _show_ladder(args: argparse.Namespace) -> int:
    del args

    async def work(engine: AsyncEngine) -> str:
        async with engine.connect() as conn:
            ladder, policy = await tier_repository.tier_rules(conn)
        lines = [f"{t.rank}  {t.name:<12} {t.threshold:>10} tier points" for t in ladder.tiers]
        lines.append(
            f"window {policy.window_months} months, grace period {policy.grace_days} days, "
            "at most one tier down per review"
        )
        return "\n".join(lines)

    print(_on_database(work))
    return 0
