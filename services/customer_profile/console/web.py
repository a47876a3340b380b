"""The console's pages: log in, find a customer, read the customer's view, act on it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncEngine

from services.customer_profile import catalogue
from services.customer_profile.api import ActivityType, create_app
from services.customer_profile.console import actions, auth, store
from services.customer_profile.console.auth import PREFIX
from services.customer_profile.console.customer_page import (
    Notice,
    customer_context,
    days,
    notice_of,
    page_number,
)
from services.customer_profile.console.passwords import verify_password
from services.customer_profile.console.queries import customer_redemptions
from services.customer_profile.console.reviews import ReviewError, decide_review, open_reviews
from services.customer_profile.console.rules import (
    CURRENCIES,
    REASON_CODES,
    AdjustmentFormError,
    read_adjustment,
)
from services.customer_profile.console.settings import ConsoleSettings
from services.customer_profile.console.store import Session
from services.customer_profile.views import (
    ActivityFilter,
    customer_language,
    find_customers,
)
from shared.messaging import outbox_signal

SERVICE = "customer_profile"
KINDS: tuple[str, ...] = get_args(ActivityType)
SEARCH_LIMIT = 20
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STYLESHEET = Path(__file__).with_name("console.css").read_text(encoding="utf-8")
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def console_router(engine: AsyncEngine, settings: ConsoleSettings | None = None) -> APIRouter:
    """The console's pages over `engine` (the runtime role: it writes sessions, the audit
    log and the outbox, so not the API's read-only engine)."""
    pages = Pages(engine, settings or ConsoleSettings())
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    for path, method, endpoint in pages.routes():
        router.add_api_route(path, endpoint, methods=[method])
    return router


class Pages:
    """Every page and form of the console, over one engine."""

    def __init__(self, engine: AsyncEngine, config: ConsoleSettings) -> None:
        self.engine, self.config = engine, config

    def page(
        self, request: Request, name: str, context: Mapping[str, Any], status: int = 200
    ) -> HTMLResponse:
        response = templates.TemplateResponse(
            request,
            name,
            {"prefix": PREFIX, "limit": self.config.adjustment_limit, **context},
            status_code=status,
        )
        response.headers.update(HEADERS)
        return response

    async def signed_in(self, request: Request) -> Session:
        session = await auth.session_of(self.engine, request)
        if session is None:
            raise auth.login_required(request)
        return session

    def refused(
        self, request: Request, session: Session, message: str, status: int = 403
    ) -> HTMLResponse:
        return self.page(request, "refused.html", {"session": session, "message": message}, status)

    async def stylesheet(self) -> Response:
        return Response(
            STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"}
        )

    async def login_form(self, request: Request) -> HTMLResponse:
        token = auth.new_token()
        response = self.page(request, "login.html", {"session": None, "csrf": token, "error": None})
        auth.set_cookie(response, auth.LOGIN_COOKIE, token, self.config, 3600)
        return response

    async def login(self, request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(auth.LOGIN_COOKIE, "")
        if not auth.same(form.get(auth.CSRF_FIELD), expected):
            return await self.login_again(request, "The login form expired: please try again.", 403)
        username = str(form.get("username", "")).strip().lower()[:40]
        password = str(form.get("password", ""))
        async with self.engine.connect() as conn:
            user = await store.find_user(conn, username)
        stored = user.password_hash if user is not None and user.active else None
        if not await asyncio.to_thread(verify_password, password, stored) or user is None:
            async with self.engine.begin() as conn:
                await store.audit(conn, username or "-", None, "login.failed")
            return await self.login_again(request, "Wrong username or password.", 401)
        now = datetime.now(UTC)
        token = await auth.open_session(self.engine, user.username, self.config, now)
        async with self.engine.begin() as conn:
            await store.audit(conn, user.username, user.role, "login")
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        auth.set_cookie(
            response, auth.SESSION_COOKIE, token, self.config, self.config.session_minutes * 60
        )
        auth.clear_cookie(response, auth.LOGIN_COOKIE, self.config)
        return response

    async def login_again(self, request: Request, error: str, status: int) -> HTMLResponse:
        token = auth.new_token()
        response = self.page(
            request, "login.html", {"session": None, "csrf": token, "error": error}, status
        )
        auth.set_cookie(response, auth.LOGIN_COOKIE, token, self.config, 3600)
        return response

    async def logout(self, request: Request) -> Response:
        session = await self.signed_in(request)
        await auth.checked_form(request, session)
        async with self.engine.begin() as conn:
            await store.end_session(conn, auth.token_hash(request.cookies[auth.SESSION_COOKIE]))
            await store.audit(conn, session.username, session.role, "logout")
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        auth.clear_cookie(response, auth.SESSION_COOKIE, self.config)
        return response

    async def search(self, request: Request, q: str = "") -> HTMLResponse:
        session = await self.signed_in(request)
        query = " ".join(q.split())[:64]
        found: list[dict[str, Any]] = []
        if query:
            async with self.engine.begin() as conn:
                found = await find_customers(conn, query, SEARCH_LIMIT)
                await store.audit(
                    conn,
                    session.username,
                    session.role,
                    "customer.searched",
                    None,
                    {"query": query, "found": len(found)},
                )
        return self.page(
            request, "search.html", {"session": session, "query": query, "found": found}
        )

    async def customer(self, request: Request, customer_no: str) -> HTMLResponse:
        session = await self.signed_in(request)
        notice = notice_of(
            request.query_params.get("done", ""), request.query_params.get("ref", "")
        )
        return await self.customer_page(request, session, customer_no[:12], notice=notice)

    async def customer_page(
        self,
        request: Request,
        session: Session,
        customer_no: str,
        *,
        notice: Notice | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        params = request.query_params
        kinds = [k for k in params.getlist("type") if k in KINDS]
        since, until, problem = days(params.get("from", ""), params.get("to", ""))
        page_no = page_number(params.get("page", "1"))
        async with self.engine.begin() as conn:
            language = await customer_language(conn, customer_no)
            if language is None:
                return self.refused(request, session, f"No customer {customer_no}.", 404)
            context = await customer_context(
                conn,
                customer_no,
                language,
                ActivityFilter(kinds, since, until),
                page_no,
                self.config.page_size,
            )
            await store.audit(
                conn,
                session.username,
                session.role,
                "customer.viewed",
                customer_no,
                {"page": page_no, "types": kinds},
            )
        return self.page(
            request,
            "customer.html",
            {
                "session": session,
                "notice": notice,
                "error": error or problem,
                "filters": {
                    "types": kinds,
                    "from": params.get("from", ""),
                    "to": params.get("to", ""),
                },
                "kinds": KINDS,
                "reason_codes": REASON_CODES,
                "currencies": CURRENCIES,
                "page_query": lambda n: urlencode(
                    [
                        *(("type", k) for k in kinds),
                        *((k, params[k]) for k in ("from", "to") if params.get(k)),
                        ("page", n),
                    ]
                ),
                **context,
            },
            status,
        )

    async def adjust(self, request: Request, customer_no: str) -> Response:
        session = await self.signed_in(request)
        form = await auth.checked_form(request, session)
        try:
            adjustment = read_adjustment(customer_no, form)
        except AdjustmentFormError as error:
            return await self.customer_page(
                request, session, customer_no, error=str(error), status=422
            )
        async with self.engine.begin() as conn:
            if await customer_language(conn, customer_no) is None:
                return self.refused(request, session, f"No customer {customer_no}.", 404)
            done = await actions.request_adjustment(
                conn, session, adjustment, self.config.adjustment_limit, datetime.now(UTC)
            )
        outbox_signal.outbox_committed(SERVICE)
        return RedirectResponse(
            f"{PREFIX}/customers/{customer_no}?done={done.outcome}&ref={done.reference}",
            status_code=303,
        )

    async def approvals(self, request: Request) -> HTMLResponse:
        session = await self.signed_in(request)
        if session.role != "supervisor":
            return self.refused(request, session, "Only supervisors approve adjustments.")
        async with self.engine.connect() as conn:
            waiting = await actions.pending_approvals(conn)
        notice = notice_of(
            request.query_params.get("done", ""), request.query_params.get("ref", "")
        )
        return self.page(
            request, "approvals.html", {"session": session, "approvals": waiting, "notice": notice}
        )

    async def decide(self, request: Request, approval_id: str) -> Response:
        session = await self.signed_in(request)
        form = await auth.checked_form(request, session)
        if session.role != "supervisor":
            return self.refused(request, session, "Only supervisors approve adjustments.")
        decision = form.get("decision")
        if decision not in {"approve", "reject"}:
            return self.refused(request, session, "Approve or reject.", 422)
        try:
            async with self.engine.begin() as conn:
                done = await actions.decide_approval(
                    conn, session, approval_id, approve=decision == "approve", now=datetime.now(UTC)
                )
        except actions.ApprovalError as error:
            return self.refused(request, session, str(error), 409)
        outbox_signal.outbox_committed(SERVICE)
        return RedirectResponse(
            f"{PREFIX}/approvals?done={done.outcome}&ref={done.reference}", status_code=303
        )

    def routes(self) -> list[tuple[str, str, Callable[..., Awaitable[Response]]]]:
        return [
            ("/static/console.css", "GET", self.stylesheet),
            ("/login", "GET", self.login_form),
            ("/login", "POST", self.login),
            ("/logout", "POST", self.logout),
            ("/", "GET", self.search),
            ("/customers/{customer_no}", "GET", self.customer),
            ("/customers/{customer_no}/adjustments", "POST", self.adjust),
            ("/approvals", "GET", self.approvals),
            ("/approvals/{approval_id}", "POST", self.decide),
            ("/customers/{customer_no}/redemptions/cancel", "POST", self.cancel),
            ("/reviews", "GET", self.reviews),
            ("/reviews", "POST", self.review),
        ]

    async def cancel(self, request: Request, customer_no: str) -> Response:
        session = await self.signed_in(request)
        form = await auth.checked_form(request, session)
        vendor_id, request_id = str(form.get("vendor_id", "")), str(form.get("request_id", ""))
        async with self.engine.begin() as conn:
            language = await customer_language(conn, customer_no)
            texts = await catalogue.texts_in(conn, language or "en")
            found = await customer_redemptions(conn, customer_no, language or "en", texts, None)
            if not any(
                (r.vendor_id, r.request_id) == (vendor_id, request_id) and r.cancellable
                for r in found
            ):
                return self.refused(
                    request, session, f"No approved redemption {request_id} to cancel.", 409
                )
            await actions.cancel_redemption(
                conn, session, customer_no, vendor_id, request_id, datetime.now(UTC)
            )
        outbox_signal.outbox_committed(SERVICE)
        return RedirectResponse(
            f"{PREFIX}/customers/{customer_no}?done=cancel_requested&ref={request_id}",
            status_code=303,
        )

    async def reviews(self, request: Request) -> HTMLResponse:
        session = await self.signed_in(request)
        async with self.engine.connect() as conn:
            waiting = await open_reviews(conn)
        notice = notice_of(
            request.query_params.get("done", ""), request.query_params.get("ref", "")
        )
        return self.page(
            request, "reviews.html", {"session": session, "reviews": waiting, "notice": notice}
        )

    async def review(self, request: Request) -> Response:
        session = await self.signed_in(request)
        form = await auth.checked_form(request, session)
        review_id, decision = str(form.get("review_id", "")), form.get("decision")
        vendor_id = str(form.get("vendor_id", "")) or None
        if decision not in {"confirm", "reject"} or (decision == "confirm") != bool(vendor_id):
            return self.refused(request, session, "Confirm one of the vendors, or reject.", 422)
        try:
            async with self.engine.begin() as conn:
                await decide_review(
                    conn,
                    session,
                    review_id,
                    vendor_id if decision == "confirm" else None,
                    datetime.now(UTC),
                )
        except ReviewError as error:
            return self.refused(request, session, str(error), 409)
        outbox_signal.outbox_committed(SERVICE)
        return RedirectResponse(
            f"{PREFIX}/reviews?done=review_{decision}ed&ref={review_id}", status_code=303
        )


def api_with_console(engine: AsyncEngine) -> FastAPI:
    """The query API with the console's pages: what `loyalty run customer_profile
    --http-port PORT` serves (the API reads through its read-only engine; the console writes
    sessions, its audit log and the outbox through `engine`)."""
    return create_app(engine, extra_routers=[console_router(engine)])
