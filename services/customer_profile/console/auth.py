"""Sessions and CSRF: a random cookie (only its hash is stored), one CSRF token per session
checked on every POST, roles read from the users table on every request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from fastapi import HTTPException, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import FormData

from services.customer_profile.console import store
from services.customer_profile.console.settings import ConsoleSettings
from services.customer_profile.console.store import Session

PREFIX = "/console"
SESSION_COOKIE = "loyalty_console"
LOGIN_COOKIE = "loyalty_console_login"  # the CSRF token of the login form (no session yet)
CSRF_FIELD = "csrf_token"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(sent: object, expected: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one."""
    return (
        isinstance(sent, str)
        and bool(sent)
        and hmac.compare_digest(sent.encode(), expected.encode())
    )


def set_cookie(
    response: Response, name: str, value: str, settings: ConsoleSettings, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )


def clear_cookie(response: Response, name: str, settings: ConsoleSettings) -> None:
    response.delete_cookie(
        name, path=PREFIX, httponly=True, samesite="strict", secure=settings.secure_cookies
    )


async def open_session(
    engine: AsyncEngine, username: str, settings: ConsoleSettings, now: datetime
) -> str:
    """A new session for `username`; returns the cookie's value."""
    token = new_token()
    async with engine.begin() as conn:
        await store.start_session(
            conn,
            token_hash(token),
            username,
            new_token(),
            now + timedelta(minutes=settings.session_minutes),
        )
    return token


async def session_of(engine: AsyncEngine, request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with engine.connect() as conn:
        return await store.find_session(conn, token_hash(token))


def login_required(request: Request) -> HTTPException:
    """303 to the login page (which comes back here after logging in)."""
    del request
    return HTTPException(303, "log in first", headers={"Location": f"{PREFIX}/login"})


async def checked_form(request: Request, session: Session) -> FormData:
    """The POSTed form once its CSRF token is the session's; 403 otherwise."""
    form = await request.form()
    if not same(form.get(CSRF_FIELD), session.csrf_token):
        raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page")
    return form
