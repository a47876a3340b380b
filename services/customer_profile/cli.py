"""`loyalty customer show CUSTOMER_NO [--json]`: the single customer view for operators."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date, datetime
from typing import Any

from services.customer_profile.views import single_customer_view
from shared.db.engine import create_engine
from shared.infra.resolve import resolve_endpoints


def register(subparsers: Any) -> None:
    """Add the `customer` command to the `loyalty` CLI."""
    customer = subparsers.add_parser("customer", help="customer profile and activity")
    actions = customer.add_subparsers(dest="customer_action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="profile, balances and recent activity of a customer")
    show.add_argument("customer_no", metavar="CUSTOMER_NO")
    show.add_argument("--json", action="store_true", help="print the view as JSON")
    show.set_defaults(func=_show)


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
                f"tier {profile['tier']}  profile version {profile['profile_version']}"
            ),
            f"  cash-back account {profile['cashback_account_no'] or '-'}",
        ]
    lines.append("balances")
    lines += [
        f"  {b['currency']:<12} {b['balance']:>10}  held {b['held']}" for b in view["balances"]
    ] or ["  none"]
    lines.append(f"activity (latest {len(view['activity'])})")
    lines += [
        f"  {a['occurred_at']:%Y-%m-%d %H:%M}  {a['kind']:<12} "
        f"{'' if a['points'] is None else a['points']:>8}  {a['description']}"
        for a in view["activity"]
    ] or ["  none"]
    return "\n".join(lines)
