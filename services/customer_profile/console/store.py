"""SQL of the console's tables: users, sessions, approvals, the audit log, the review queue."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.customer_profile.console.users import User
from services.customer_profile.tables import SCHEMA


@dataclass(frozen=True, slots=True)
class StoredUser:
    username: str
    role: str
    password_hash: str
    active: bool


@dataclass(frozen=True, slots=True)
class Session:
    username: str
    role: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class UsersReport:
    created: int
    changed: int
    unchanged: int
    deactivated: int


async def import_users(conn: AsyncConnection, users: Sequence[User]) -> UsersReport:
    """Make the table what the file says: new users, changed roles or hashes, and everyone
    not in the file deactivated (their sessions end with it)."""
    ordered = sorted(users, key=lambda u: u.username)
    before = {
        r.username: r
        for r in await conn.execute(
            text(
                f'SELECT username, role, password_hash, active FROM "{SCHEMA}".console_users '
                "ORDER BY username FOR UPDATE"
            )
        )
    }
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".console_users AS u (username, role, password_hash) '
            "SELECT * FROM unnest(CAST(:n AS text[]), CAST(:r AS text[]), CAST(:h AS text[])) "
            "ON CONFLICT (username) DO UPDATE SET role = excluded.role, "
            "password_hash = excluded.password_hash, active = true, changed_at = now() "
            "WHERE (u.role, u.password_hash, u.active) "
            "IS DISTINCT FROM (excluded.role, excluded.password_hash, true)"
        ),
        {
            "n": [u.username for u in ordered],
            "r": [u.role for u in ordered],
            "h": [u.password_hash for u in ordered],
        },
    )
    gone = await conn.execute(
        text(
            f'UPDATE "{SCHEMA}".console_users SET active = false, changed_at = now() '
            "WHERE active AND NOT (username = ANY(CAST(:n AS text[])))"
        ),
        {"n": [u.username for u in ordered]},
    )
    created = sum(1 for u in ordered if u.username not in before)
    unchanged = sum(
        1
        for u in ordered
        if u.username in before
        and (before[u.username].role, before[u.username].password_hash, before[u.username].active)
        == (u.role, u.password_hash, True)
    )
    return UsersReport(created, len(ordered) - created - unchanged, unchanged, gone.rowcount)


async def find_user(conn: AsyncConnection, username: str) -> StoredUser | None:
    row = (
        await conn.execute(
            text(
                f'SELECT username, role, password_hash, active FROM "{SCHEMA}".console_users '
                "WHERE username = :u"
            ),
            {"u": username},
        )
    ).one_or_none()
    return (
        None if row is None else StoredUser(row.username, row.role, row.password_hash, row.active)
    )


async def start_session(
    conn: AsyncConnection, token_hash: str, username: str, csrf_token: str, expires_at: datetime
) -> None:
    """A new session; expired ones are cleared on the way (sessions are not business rows)."""
    await conn.execute(
        text(f'DELETE FROM "{SCHEMA}".console_sessions WHERE expires_at < now()'),
    )
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".console_sessions (token_hash, username, csrf_token, '
            "expires_at) VALUES (:t, :u, :c, :e)"
        ),
        {"t": token_hash, "u": username, "c": csrf_token, "e": expires_at},
    )


async def find_session(conn: AsyncConnection, token_hash: str) -> Session | None:
    """The live session of an active user; the role is read now, not when they logged in."""
    row = (
        await conn.execute(
            text(
                f'SELECT s.username, u.role, s.csrf_token FROM "{SCHEMA}".console_sessions s '
                f'JOIN "{SCHEMA}".console_users u ON u.username = s.username AND u.active '
                "WHERE s.token_hash = :t AND s.expires_at > now()"
            ),
            {"t": token_hash},
        )
    ).one_or_none()
    return None if row is None else Session(row.username, row.role, row.csrf_token)


async def end_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(
        text(f'DELETE FROM "{SCHEMA}".console_sessions WHERE token_hash = :t'), {"t": token_hash}
    )


async def audit(
    conn: AsyncConnection,
    actor: str,
    role: str | None,
    action: str,
    customer_no: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One line of the console's audit log (append-only for the runtime role)."""
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".console_audit (actor, role, action, customer_no, details) '
            "VALUES (:a, :r, :x, :c, CAST(:d AS jsonb))"
        ),
        {
            "a": actor,
            "r": role,
            "x": action,
            "c": customer_no,
            "d": json.dumps(details or {}, default=str),
        },
    )


async def audit_log(
    conn: AsyncConnection, customer_no: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    where = "WHERE customer_no = :c " if customer_no is not None else ""
    rows = await conn.execute(
        text(
            "SELECT id, at, actor, role, action, customer_no, details "
            f'FROM "{SCHEMA}".console_audit {where}ORDER BY id DESC LIMIT :n'
        ),
        {"c": customer_no, "n": limit},
    )
    return [dict(r) for r in rows.mappings()]
