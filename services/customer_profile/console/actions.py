"""What agents and supervisors do, each in one transaction with its audit line and the
messages it sends through customer_profile's outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.loyalty import AdjustmentRequested
from contracts.vendor_gateway import RedemptionRequested
from services.customer_profile.console import store
from services.customer_profile.console.rules import Adjustment, needs_approval
from services.customer_profile.console.store import Session
from services.customer_profile.tables import SCHEMA
from shared.messaging.uow import UnitOfWork

ADJUSTMENT_TOPIC = "loyalty.points.adjustment-requested.v1"


class ApprovalError(Exception):
    """The approval is not pending any more, or the supervisor asked for it themselves."""


@dataclass(frozen=True, slots=True)
class Requested:
    """`submitted`: sent to accrual as `adjustment_id`; `awaiting_approval`: `approval_id`."""

    outcome: str
    reference: str


def _adjustment(
    adjustment_id: str, a: Adjustment, actor: str, reason: str, now: datetime
) -> AdjustmentRequested:
    return AdjustmentRequested(
        message_id=f"adjustment:{adjustment_id}",
        sent_at=now,
        adjustment_id=adjustment_id,
        customer_no=a.customer_no,
        currency=a.currency,  # type: ignore[arg-type]  # read_adjustment checked it
        points=a.points,
        actor=actor,
        reason_code=a.reason_code,
        reason_text=reason,
        requested_at=now,
    )


def new_id(prefix: str, now: datetime) -> str:
    return f"{prefix}-{now:%Y%m%d}-{uuid.uuid4().hex[:12]}"


async def request_adjustment(
    conn: AsyncConnection, who: Session, adjustment: Adjustment, limit: int, now: datetime
) -> Requested:
    """Send the adjustment to accrual, or keep it for a supervisor when it is above the limit."""
    if needs_approval(adjustment.points, who.role, limit):
        approval_id = new_id("APR", now)
        await conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".console_approvals (approval_id, customer_no, currency, '
                "points, reason_code, reason_text, requested_by, requested_at) "
                "VALUES (:i, :c, :cur, :p, :rc, :rt, :by, :at)"
            ),
            {
                "i": approval_id,
                "c": adjustment.customer_no,
                "cur": adjustment.currency,
                "p": adjustment.points,
                "rc": adjustment.reason_code,
                "rt": adjustment.reason_text,
                "by": who.username,
                "at": now,
            },
        )
        await store.audit(
            conn,
            who.username,
            who.role,
            "adjustment.approval_requested",
            adjustment.customer_no,
            {
                "approval_id": approval_id,
                "points": adjustment.points,
                "currency": adjustment.currency,
                "limit": limit,
                "reason_code": adjustment.reason_code,
                "reason_text": adjustment.reason_text,
            },
        )
        return Requested("awaiting_approval", approval_id)
    adjustment_id = new_id("ADJ", now)
    uow = UnitOfWork(conn, SCHEMA)
    uow.publish(
        ADJUSTMENT_TOPIC,
        adjustment.customer_no,
        _adjustment(adjustment_id, adjustment, who.username, adjustment.reason_text, now),
    )
    await uow.flush_outbox()
    await store.audit(
        conn,
        who.username,
        who.role,
        "adjustment.submitted",
        adjustment.customer_no,
        {
            "adjustment_id": adjustment_id,
            "points": adjustment.points,
            "currency": adjustment.currency,
            "reason_code": adjustment.reason_code,
            "reason_text": adjustment.reason_text,
        },
    )
    return Requested("submitted", adjustment_id)


async def decide_approval(
    conn: AsyncConnection, who: Session, approval_id: str, *, approve: bool, now: datetime
) -> Requested:
    """A supervisor approves (the adjustment goes to accrual, the agent as its actor and the
    supervisor named in its reason) or rejects a pending adjustment, exactly once."""
    adjustment_id = new_id("ADJ", now) if approve else None
    row = (
        await conn.execute(
            text(
                f'UPDATE "{SCHEMA}".console_approvals SET state = :s, decided_by = :by, '
                "decided_at = :at, adjustment_id = :adj "
                "WHERE approval_id = :i AND state = 'pending' AND requested_by <> :by "
                "RETURNING customer_no, currency, points, reason_code, reason_text, requested_by"
            ),
            {
                "s": "approved" if approve else "rejected",
                "by": who.username,
                "at": now,
                "adj": adjustment_id,
                "i": approval_id,
            },
        )
    ).one_or_none()
    if row is None:
        raise ApprovalError(f"approval {approval_id} is not pending, or is your own request")
    details = {
        "approval_id": approval_id,
        "points": row.points,
        "currency": row.currency,
        "requested_by": row.requested_by,
    }
    if adjustment_id is None:
        await store.audit(
            conn, who.username, who.role, "adjustment.rejected", row.customer_no, details
        )
        return Requested("rejected", approval_id)
    adjustment = Adjustment(
        row.customer_no, row.currency, row.points, row.reason_code, row.reason_text
    )
    reason = f"{row.reason_text} (approved by {who.username}, {approval_id})"
    uow = UnitOfWork(conn, SCHEMA)
    uow.publish(
        ADJUSTMENT_TOPIC,
        row.customer_no,
        _adjustment(adjustment_id, adjustment, row.requested_by, reason, now),
    )
    await uow.flush_outbox()
    await store.audit(
        conn,
        who.username,
        who.role,
        "adjustment.approved",
        row.customer_no,
        details | {"adjustment_id": adjustment_id},
    )
    return Requested("submitted", adjustment_id)


async def pending_approvals(conn: AsyncConnection, limit: int = 100) -> list[dict[str, object]]:
    rows = await conn.execute(
        text(
            "SELECT approval_id, customer_no, currency, points, reason_code, reason_text, "
            f'requested_by, requested_at FROM "{SCHEMA}".console_approvals '
            "WHERE state = 'pending' ORDER BY requested_at, approval_id LIMIT :n"
        ),
        {"n": limit},
    )
    return [dict(r) for r in rows.mappings()]


REDEMPTION_TOPIC = "loyalty.redemption.requested.v1"


async def cancel_redemption(
    conn: AsyncConnection,
    who: Session,
    customer_no: str,
    vendor_id: str,
    request_id: str,
    now: datetime,
) -> str:
    """Ask the wallet to cancel an approved redemption, as the vendor's gateway would: the
    points go back to the lots they came from, and the decision shows in the history."""
    message_id = f"console-cancel:{uuid.uuid4()}"
    request = RedemptionRequested(
        message_id=message_id,
        sent_at=now,
        request_id=request_id,
        action="cancel",
        vendor_id=vendor_id,
        customer_no=customer_no,
        points=None,
        reward="voucher",  # the wallet cancels whatever the reward was; the field is required
        requested_at=now,
    )
    uow = UnitOfWork(conn, SCHEMA)
    uow.publish(REDEMPTION_TOPIC, customer_no, request)
    await uow.flush_outbox()
    await store.audit(
        conn,
        who.username,
        who.role,
        "redemption.cancel_requested",
        customer_no,
        {"vendor_id": vendor_id, "request_id": request_id, "message_id": message_id},
    )
    return message_id
