"""The programme's points liability: what customers could still redeem, and what it costs.

`loyalty report liability` reads the wallet with redemption's runtime role and the pending
points through accrual's own read module with accrual's runtime role: each schema is read
by its owner only. The ledger is taken as it stands now, seen on the as-of day: lots whose
expiry is before that day count as expired (breakage the expiry run has not posted yet).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.redemption.domain import SPENDABLE
from services.redemption.tables import SCHEMA

NEVER = "never"  # the expiry month of lots that do not expire


@dataclass
class CurrencyLiability:
    """One currency's liability; points, and cents for the spendable currency only."""

    outstanding: int = 0  # in unexpired lots, held points included
    by_expiry_month: dict[str, int] = field(default_factory=dict)  # "YYYY-MM" or "never"
    expired_unswept: int = 0  # in lots expired by the as-of day, not yet posted to breakage
    debt: int = 0  # negative balances, repaid first by later credits
    net: int = 0  # outstanding less debt: the points customers can still redeem
    held: int = 0  # reserved by open holds (part of outstanding)
    pending: int = 0  # potential points from card authorisations, not in the wallet yet
    value_cents: int = 0  # net at the cost per point
    pending_value_cents: int = 0


@dataclass
class Liability:
    as_of: date
    cost_per_point_cents: int
    currencies: dict[str, CurrencyLiability]

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "cost_per_point_cents": self.cost_per_point_cents,
            "currencies": {c: asdict(v) for c, v in sorted(self.currencies.items())},
        }

    def lines(self) -> list[str]:
        title = f"points liability as of {self.as_of}"
        out = [f"{title} (a point costs {self.cost_per_point_cents} cents)"]
        for currency, c in sorted(self.currencies.items()):
            out.append(
                f"{currency}: outstanding {c.outstanding}, debt {c.debt}, net {c.net}, "
                f"held {c.held}, pending {c.pending}, expired unswept {c.expired_unswept}"
            )
            if currency == SPENDABLE:
                out.append(f"  value R{c.value_cents / 100:,.2f}, "
                           f"pending value R{c.pending_value_cents / 100:,.2f}")  # fmt: skip
            out.extend(f"  expires {month}: {points}"
                       for month, points in c.by_expiry_month.items())  # fmt: skip
        return out


@dataclass(frozen=True, slots=True)
class WalletTotals:
    """What the wallet holds per currency: lots by expiry month, expired lots, debt, held."""

    lots: dict[tuple[str, str], int]  # (currency, month) -> points in unexpired lots
    expired: dict[str, int]
    debt: dict[str, int]
    held: dict[str, int]


async def wallet_totals(conn: AsyncConnection, as_of: date) -> WalletTotals:
    """The wallet's side of the liability (redemption's runtime role)."""
    lots = await conn.execute(
        text(
            "SELECT currency, COALESCE(to_char(expires_at, 'YYYY-MM'), :never) AS month, "
            "COALESCE(expires_at < :d, false) AS expired, SUM(remaining_points)::bigint AS n "
            f'FROM "{SCHEMA}".lots WHERE remaining_points > 0 GROUP BY 1, 2, 3'
        ),
        {"d": as_of, "never": NEVER},
    )
    by_month: dict[tuple[str, str], int] = {}
    expired: dict[str, int] = {}
    for r in lots:
        if r.expired:
            expired[r.currency] = expired.get(r.currency, 0) + r.n
        else:
            by_month[r.currency, r.month] = r.n
    accounts = await conn.execute(
        text(
            "SELECT currency, COALESCE(SUM(-balance) FILTER (WHERE balance < 0), 0)::bigint "
            f'AS debt, SUM(held)::bigint AS held FROM "{SCHEMA}".accounts GROUP BY currency'
        )
    )
    debt: dict[str, int] = {}
    held: dict[str, int] = {}
    for r in accounts:
        debt[r.currency], held[r.currency] = r.debt, r.held
    return WalletTotals(by_month, expired, debt, held)


def liability(
    as_of: date, wallet: WalletTotals, pending: dict[str, int], cost_per_point_cents: int
) -> Liability:
    """Put the wallet's totals and accrual's pending points together, per currency."""
    currencies = (
        {c for c, _ in wallet.lots} | set(wallet.expired) | set(wallet.debt) | set(wallet.held)
        | set(pending) | {SPENDABLE}
    )  # fmt: skip
    result: dict[str, CurrencyLiability] = {}
    for currency in currencies:
        months = sorted((m for c, m in wallet.lots if c == currency), key=lambda m: (m == NEVER, m))
        c = CurrencyLiability(
            by_expiry_month={m: wallet.lots[currency, m] for m in months},
            expired_unswept=wallet.expired.get(currency, 0),
            debt=wallet.debt.get(currency, 0),
            held=wallet.held.get(currency, 0),
            pending=pending.get(currency, 0),
        )
        c.outstanding = sum(c.by_expiry_month.values())
        c.net = c.outstanding - c.debt
        if currency == SPENDABLE:  # other currencies (tier points) buy nothing
            c.value_cents = c.net * cost_per_point_cents
            c.pending_value_cents = c.pending * cost_per_point_cents
        result[currency] = c
    return Liability(as_of, cost_per_point_cents, result)
