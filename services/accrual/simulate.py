"""A dry run: which agreement, rule and version would rate a transaction, and the points."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.loyalty import TransactionEnriched
from services.accrual.facts import activity_of
from services.accrual.ledger import is_reversal
from services.accrual.rules.evaluate import evaluate, expires_at
from services.accrual.rules.model import CustomerClass, Programme

NOTE = "a dry run: nothing is posted; period caps count no earlier earnings"


def read_transaction(data: dict[str, Any]) -> TransactionEnriched:
    """The enriched-transaction contract; the envelope fields may be left out."""
    filled = {
        "message_id": "simulate",
        "sent_at": datetime.now(UTC).isoformat(),
        "source_message_id": "simulate",
        **data,
    }
    return TransactionEnriched.model_validate(filled)


def _effect(tx: TransactionEnriched) -> str:
    if is_reversal(activity_of(tx)):
        return "takes back the original's points (not simulated)"
    if tx.kind not in {"purchase", "payment"} or tx.direction != "debit":
        return "earns nothing"
    return {"authorized": "pending points", "posted": "points posted"}.get(tx.status, "nothing")


def simulate(
    programme: Programme, customer: CustomerClass | None, tx: TransactionEnriched, class_source: str
) -> dict[str, Any]:
    activity = activity_of(tx)
    evaluation = evaluate(programme, customer, activity, {})
    found = evaluation.dispatch
    return {
        "programme": {"name": programme.name, "version": programme.version or None},
        "transaction_id": tx.transaction_id,
        "customer_no": tx.customer_no,
        "status": tx.status,
        "effect": _effect(tx),
        "event": found.event,
        "day": found.day.isoformat(),
        "class": {
            "segment": found.customer.segment,
            "tier": found.customer.tier,
            "from": class_source,
        },
        "agreement": evaluation.agreement_id,
        "excluded_by": (
            {"id": found.excluded_by.id, "reason": found.excluded_by.reason}
            if found.excluded_by
            else None
        ),
        "currencies": {
            currency: {
                "rule_id": rating.rule.id,
                "rule_version": rating.rule.version or None,
                "points": rating.points,
                "rule_points": rating.rule_points,
                "bonus_points": rating.bonus_points,
                "promotion_id": rating.promotion_id,
                "excluded_by": rating.excluded,
                "expires_at": (
                    str(expiry)
                    if rating.points
                    and (expiry := expires_at(programme, currency, tx.transaction_at))
                    else None
                ),
                "steps": list(rating.steps),
            }
            for currency, rating in evaluation.ratings.items()
        },
        "note": NOTE,
    }


def format_simulation(result: dict[str, Any]) -> str:
    """The simulation for a terminal."""
    p = result["programme"]
    version = f"v{p['version']}" if p["version"] else "(not stored)"
    c = result["class"]
    lines = [
        f"programme   {p['name']} {version}",
        f"transaction {result['transaction_id']} ({result['status']}): {result['effect']}",
        f"event       {result['event'] or '-'} on {result['day']}",
        f"customer    {result['customer_no']}: {c['segment']}/{c['tier']} ({c['from']})",
        f"agreement   {result['agreement'] or '-'}",
    ]
    if result["excluded_by"]:
        lines.append(
            f"excluded    {result['excluded_by']['id']}: {result['excluded_by']['reason']}"
        )
    for currency, r in result["currencies"].items():
        version = f"v{r['rule_version']}" if r["rule_version"] else "(not stored)"
        expiry = f", expires {r['expires_at']}" if r["expires_at"] else ""
        lines.append(f"{currency:<11} {r['points']:>6}  rule {r['rule_id']} {version}{expiry}")
        lines += [f"{'':<19}{step}" for step in r["steps"]]
    if not result["currencies"]:
        lines.append("points           0  no posting rule applies")
    lines.append(f"({result['note']})")
    return "\n".join(lines)
