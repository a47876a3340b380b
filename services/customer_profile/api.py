"""The query API of customer_profile for the call centre, in the customer's language.

`GET /customers?q=` finds customers; `GET /customers/{customer_no}` is the single customer
view (profile, tier, balances, pending points); `GET /customers/{customer_no}/activity` pages
through the history. Reads only, with the service's runtime role in read-only transactions.
`loyalty run customer_profile --http-port PORT` serves it next to the consumers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from services.customer_profile import catalogue
from services.customer_profile.views import (
    ActivityFilter,
    activity_page,
    count_activity,
    customer_language,
    find_customers,
    single_customer_view,
)

TITLE, VERSION = "Loyalty customer profile API", "1.0.0"
OPENAPI_FILE = Path(__file__).with_name("openapi.json")
MAX_PAGE_SIZE, MAX_PAGE, SEARCH_LIMIT = 100, 100_000, 20
# What the service records (services/customer_profile/activity.py); a unit test keeps them equal.
ActivityType = Literal[
    "transaction",
    "earned",
    "reversed",
    "adjusted",
    "pending",
    "confirmed",
    "cancelled",
    "expired",
    "redeemed",
    "held",
    "declined",
    "tier_changed",
]
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"  # Postgres text holds no NUL; nothing else is refused

CustomerNoParam = Annotated[
    str,
    PathParam(
        min_length=1,
        max_length=12,
        pattern=PRINTABLE,
        description="The bank customer number (CIF).",
        examples=["100234567890"],
    ),
]


class Account(BaseModel):
    account_no: str = Field(description="Bank account number.", examples=["4071234567"])
    type: str = Field(description="Account type.", examples=["cheque"])


class Profile(BaseModel):
    first_name: str = Field(examples=["Annelie"])
    last_name: str = Field(examples=["van der Merwe"])
    status: str = Field(description="active or closed.", examples=["active"])
    loyalty_member: bool = Field(description="Member of the programme.")
    customer_class: str = Field(description="The bank's segment.", examples=["retail"])
    language: str = Field(description="Preferred language (ISO 639-1).", examples=["af"])
    accounts: list[Account]
    cashback_account_no: str | None = Field(description="Where cash-back is paid; null: none.")
    profile_version: int = Field(description="Bumped by every announced change.")
    changed_at: datetime = Field(description="When the bank last changed the profile.")


class Tier(BaseModel):
    code: str = Field(examples=["silver"])
    name: str = Field(description="In the customer's language.", examples=["Silwer"])
    qualifying_points: int = Field(description="Tier points in the rolling window.")
    window_months: int = Field(description="Length of the rolling window.", examples=[12])
    next_tier: str | None = Field(description="null at the top tier.", examples=["gold"])
    next_tier_name: str | None = Field(description="In the customer's language.")
    points_to_next_tier: int | None = Field(description="Tier points still to earn.")
    at_risk_until: datetime | None = Field(
        description="Short of the tier: when it goes down one tier unless points are earned."
    )


class Expiry(BaseModel):
    expires_at: date = Field(
        description="The day the points expire (usable up to and including it).",
        examples=["2027-11-30"],
    )
    points: int = Field(description="Points expiring that day.", examples=[120])


class OpenLot(BaseModel):
    lot_id: int = Field(description="The wallet's id of the lot.", examples=[4711])
    starting: int = Field(description="Points the lot was opened with.", examples=[500])
    current: int = Field(description="Points still in the lot.", examples=[120])
    expires_at: date | None = Field(
        description="The day the lot expires (usable up to and including it); null: never.",
        examples=["2027-11-30"],
    )
    source: str = Field(
        description="What opened the lot: the posting id of the credit.",
        examples=["POS-0001-20261120-0042"],
    )


class Balance(BaseModel):
    currency: str = Field(description="Points currency.", examples=["points"])
    balance: int = Field(description="Last known balance (may be negative).", examples=[1250])
    held: int = Field(description="Points reserved by holds.", examples=[0])
    debt: int = Field(description="Points owed (a negative balance), else 0.", examples=[0])
    as_of: datetime = Field(description="When the wallet reported it.")
    next_expiries: list[Expiry] = Field(
        description="The next days (at most 3) on which points expire and how many, soonest "
        "first, as the wallet last reported; empty: none known to expire."
    )
    open_lots: list[OpenLot] = Field(
        description="The open lots (points left, not expired) as the wallet last reported "
        "them, soonest expiry first, never-expiring last; capped at the first 20 (see "
        "open_lots_total). Empty: none known."
    )
    open_lots_total: int | None = Field(
        description="How many open lots there are in all (open_lots lists at most 20); "
        "null: the wallet has not stated its lots yet.",
        examples=[1],
    )


class PendingPoints(BaseModel):
    currency: str = Field(examples=["points"])
    points: int = Field(description="Potential points not yet confirmed.", examples=[25])


class CustomerView(BaseModel):
    """The single customer view; `profile` and `tier` are null before the bank announces them."""

    customer_no: str
    language: str = Field(description="Language of every text in the answer.", examples=["af"])
    profile: Profile | None
    tier: Tier | None
    balances: list[Balance]
    pending: list[PendingPoints]


class ActivityItem(BaseModel):
    occurred_at: datetime
    type: ActivityType
    points: int | None = Field(description="Signed effect on the points; null: none shown.")
    currency: str | None = Field(description="Points currency, or the money's for purchases.")
    reference: str | None = Field(description="Transaction, posting or request id.")
    description: str = Field(description="In the customer's language (English fallback).")
    reason: str | None = Field(description="Why, for declines and adjustments.")


class ActivityPage(BaseModel):
    customer_no: str
    language: str
    page: int
    page_size: int
    total: int = Field(description="Items matching the filters, over all pages.")
    items: list[ActivityItem] = Field(description="Newest first.")


class CustomerMatch(BaseModel):
    customer_no: str
    first_name: str
    last_name: str
    language: str
    status: str
    tier: str


class SearchResult(BaseModel):
    query: str
    customers: list[CustomerMatch] = Field(description=f"At most {SEARCH_LIMIT}.")


class Problem(BaseModel):
    detail: str


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "Unknown"}}
router = APIRouter(prefix="/customers", tags=["customers"])


def engine_of(request: Request) -> AsyncEngine:
    """The app's read-only engine; extra routers open their connections from it too."""
    engine: AsyncEngine = request.app.state.engine
    return engine


def _unknown(customer_no: str) -> HTTPException:
    return HTTPException(404, f"no customer {customer_no}")


@router.get(
    "", operation_id="find_customers", summary="Find customers by number, name or account number"
)
async def search(
    request: Request,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=64,
            pattern=PRINTABLE,
            description="Start of a customer number, part of a name, or an account number.",
        ),
    ],
) -> SearchResult:
    query = q.strip()
    if not query:
        raise HTTPException(422, "q must not be blank")
    async with engine_of(request).connect() as conn:
        found = await find_customers(conn, query, SEARCH_LIMIT)
    return SearchResult(
        query=query,
        customers=[
            CustomerMatch(
                customer_no=c["customer_no"],
                first_name=c["first_name"],
                last_name=c["last_name"],
                language=c["preferred_language"],
                status=c["status"],
                tier=c["tier"],
            )
            for c in found
        ],
    )


@router.get(
    "/{customer_no}",
    operation_id="get_customer",
    summary="The single customer view",
    responses=NOT_FOUND,
)
async def customer(request: Request, customer_no: CustomerNoParam) -> CustomerView:
    async with engine_of(request).connect() as conn:
        if await customer_language(conn, customer_no) is None:
            raise _unknown(customer_no)
        view = await single_customer_view(conn, customer_no, limit=0)
    profile = view["profile"]
    tier = view["tier"]
    return CustomerView(
        customer_no=customer_no,
        language=view["language"],
        profile=None if profile is None else _profile(profile),
        tier=None
        if tier is None
        else Tier(
            code=tier["tier"],
            name=tier["name"],
            qualifying_points=tier["tier_points"],
            window_months=tier["window_months"],
            next_tier=tier["next_tier"],
            next_tier_name=tier["next_tier_name"],
            points_to_next_tier=tier["points_to_next_tier"],
            at_risk_until=tier["at_risk_until"],
        ),
        balances=[
            Balance(
                currency=b["currency"],
                balance=b["balance"],
                held=b["held"],
                debt=max(0, -b["balance"]),
                as_of=b["as_of"],
                next_expiries=[Expiry(**e) for e in b["next_expiries"]],
                open_lots=[OpenLot(**lot) for lot in b["open_lots"]],
                open_lots_total=b["open_lots_total"],
            )
            for b in view["balances"]
        ],
        pending=[PendingPoints(**p) for p in view["pending"]],
    )


def _profile(row: dict[str, Any]) -> Profile:
    return Profile(
        first_name=row["first_name"],
        last_name=row["last_name"],
        status=row["status"],
        loyalty_member=row["loyalty_member"],
        customer_class=row["segment"],
        language=row["preferred_language"],
        accounts=[Account(**a) for a in row["accounts"]],
        cashback_account_no=row["cashback_account_no"],
        profile_version=row["profile_version"],
        changed_at=row["changed_at"],
    )


def activity_filter(kinds: Sequence[str], since: date | None, until: date | None) -> ActivityFilter:
    """Days (inclusive, UTC) as a half-open range of moments; 422 when `from` is after `to`."""
    if since is not None and until is not None and since > until:
        raise HTTPException(422, "from must not be after to")
    return ActivityFilter(
        kinds=sorted(set(kinds)),
        since=None if since is None else datetime.combine(since, time(), UTC),
        until=None
        if until is None or until == date.max
        else datetime.combine(until + timedelta(days=1), time(), UTC),
    )


@router.get(
    "/{customer_no}/activity",
    operation_id="list_activity",
    summary="The history, newest first",
    responses=NOT_FOUND,
)
async def activity(
    request: Request,
    customer_no: CustomerNoParam,
    type_: Annotated[
        list[ActivityType],
        Query(alias="type", description="Only these types (repeat for several)."),
    ] = [],  # noqa: B006  (FastAPI copies defaults; a repeated query parameter needs a list)
    since: Annotated[
        date | None, Query(alias="from", description="First day (YYYY-MM-DD, UTC), inclusive.")
    ] = None,
    until: Annotated[
        date | None, Query(alias="to", description="Last day (YYYY-MM-DD, UTC), inclusive.")
    ] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> ActivityPage:
    only = activity_filter(type_, since, until)
    async with engine_of(request).connect() as conn:
        language = await customer_language(conn, customer_no)
        if language is None:
            raise _unknown(customer_no)
        texts = await catalogue.texts_in(conn, language)
        total = await count_activity(conn, customer_no, only)
        rows = await activity_page(
            conn, customer_no, language, texts, only, page_size, (page - 1) * page_size
        )
    return ActivityPage(
        customer_no=customer_no,
        language=language,
        page=page,
        page_size=page_size,
        total=total,
        items=[
            ActivityItem(
                occurred_at=r["occurred_at"],
                type=r["kind"],
                points=r["points"],
                currency=r["currency"],
                reference=r["reference"],
                description=r["description"],
                reason=r["reason"],
            )
            for r in rows
        ],
    )


def _bare_app(extra_routers: Sequence[APIRouter]) -> FastAPI:
    app = FastAPI(
        title=TITLE,
        version=VERSION,
        description="Read-only queries of customer_profile for the call centre. Texts are in "
        "the customer's language, with English where a text is not translated yet.",
    )
    app.include_router(router)
    for extra in extra_routers:
        app.include_router(extra)
    return app


def create_app(engine: AsyncEngine, *, extra_routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The ASGI app over `engine` (the runtime role); `extra_routers` add pages (the console)."""
    app = _bare_app(extra_routers)
    # Every transaction is read-only: the API can never write, whatever the role may do.
    app.state.engine = engine.execution_options(postgresql_readonly=True)
    return app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the query API, as committed in openapi.json."""
    document: dict[str, Any] = _bare_app(()).openapi()
    return document


def render_openapi() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """`python -m services.customer_profile.api [--check]`: write (or check) openapi.json."""
    if "--check" in sys.argv[1:]:
        if OPENAPI_FILE.read_text(encoding="utf-8") != render_openapi():
            print(f"{OPENAPI_FILE} is out of date: python -m services.customer_profile.api")
            sys.exit(1)
        return
    OPENAPI_FILE.write_text(render_openapi(), encoding="utf-8")
    print(f"wrote {OPENAPI_FILE}")


if __name__ == "__main__":
    main()
