"""The users file: who may log in to the console, with which role (pure: text -> rows).

CSV with the header `username,role,password_hash`; the hash comes from
`loyalty console hash-password`, so the file never holds a password.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Literal, cast

from services.customer_profile.console.passwords import PasswordHashError, parse_hash

Role = Literal["agent", "supervisor"]
ROLES: tuple[Role, ...] = ("agent", "supervisor")
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
HEADER = ("username", "role", "password_hash")


class UsersFileError(ValueError):
    """The file as a whole cannot be read (no header, wrong columns)."""


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    password_hash: str


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line_no: int
    reason: str


def read_users(content: str) -> tuple[list[User], list[RejectedLine]]:
    """The users of a file and the lines rejected (with why); a name twice is rejected."""
    reader = csv.reader(io.StringIO(content))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != HEADER:
        raise UsersFileError(f"the first line must be {','.join(HEADER)}")
    users: dict[str, User] = {}
    rejected: list[RejectedLine] = []
    for row in reader:
        line_no = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        reason = _problem(row, users)
        if reason is not None:
            rejected.append(RejectedLine(line_no, reason))
            continue
        username, role, password_hash = (cell.strip() for cell in row)
        users[username] = User(username, cast("Role", role), password_hash)
    return list(users.values()), rejected


def _problem(row: list[str], seen: dict[str, User]) -> str | None:
    if len(row) != len(HEADER):
        return f"expected {len(HEADER)} fields, found {len(row)}"
    username, role, password_hash = (cell.strip() for cell in row)
    if not USERNAME.match(username):
        return f"username {username!r}: lower-case letters, digits, . _ -; 2 to 40 long"
    if username in seen:
        return f"username {username!r} appears twice"
    if role not in ROLES:
        return f"role {role!r}: one of {', '.join(ROLES)}"
    try:
        parse_hash(password_hash)
    except PasswordHashError as error:
        return f"password_hash: {error} (make one with `loyalty console hash-password`)"
    return None
