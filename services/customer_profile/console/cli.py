"""`loyalty console hash-password` and `loyalty console users import FILE`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from services.customer_profile.console import store
from services.customer_profile.console.passwords import hash_password
from services.customer_profile.console.users import UsersFileError, read_users
from services.customer_profile.tables import SCHEMA
from shared.db.engine import create_engine, runtime_url
from shared.infra.resolve import resolve_endpoints
from shared.settings import PlatformSettings, service_settings


def register(subparsers: Any) -> None:
    """Add the `console` command to the `loyalty` CLI."""
    console = subparsers.add_parser("console", help="the call-centre console's users")
    actions = console.add_subparsers(dest="console_action", required=True, metavar="ACTION")
    hashing = actions.add_parser(
        "hash-password",
        help="print the scrypt hash of a password for the users file",
        description="Reads the password from the terminal (or one line of standard input).",
    )
    hashing.set_defaults(func=_hash_password)
    users = actions.add_parser("users", help="who may log in")
    user_actions = users.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    load = user_actions.add_parser(
        "import",
        help="make the console's users those of a CSV file (idempotent)",
        description="CSV header: username,role,password_hash; role is agent or supervisor; "
        "the hash comes from `loyalty console hash-password`. Users not in the file are "
        "deactivated. Bad lines are reported with their number and nothing is changed.",
    )
    load.add_argument("file", type=Path)
    load.set_defaults(func=_import_users)


def _hash_password(args: argparse.Namespace) -> int:
    del args
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("loyalty console hash-password: the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("loyalty console hash-password: empty password", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def _import_users(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"loyalty console users import: no such file: {path}")
        return 2
    try:
        users, rejected = read_users(path.read_text(encoding="utf-8"))
    except (UsersFileError, UnicodeDecodeError) as error:
        print(f"{path}: not imported: {error}")
        return 2
    for line in rejected:
        print(f"{path}:{line.line_no}: rejected: {line.reason}")
    if rejected:
        print(f"{path}: not imported: {len(rejected)} line(s) rejected")
        return 1
    platform = PlatformSettings()
    url = runtime_url(
        SCHEMA, resolve_endpoints(platform).database_url, platform, service_settings(SCHEMA)
    )

    async def work() -> store.UsersReport:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.begin() as conn:
                report = await store.import_users(conn, users)
                details = {"file": str(path), **asdict(report)}
                await store.audit(conn, "cli", None, "users.imported", None, details)
                return report
        finally:
            await engine.dispose()

    report = asyncio.run(work())
    print(
        f"console users: {report.created} created, {report.changed} changed, "
        f"{report.unchanged} unchanged, {report.deactivated} deactivated"
    )
    return 0
