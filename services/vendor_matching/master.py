"""The vendor master in the database: load it for the engine, import a CSV into it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.loyalty import VendorChanged
from services.vendor_matching.domain import Vendor
from services.vendor_matching.engine import MatchingEngine
from services.vendor_matching.repository import load_learned
from services.vendor_matching.tables import SCHEMA
from shared.messaging.uow import UnitOfWork

VENDOR_CHANGED_TOPIC = "loyalty.vendor.changed.v1"


async def load_vendors(conn: AsyncConnection) -> list[Vendor]:
    """Every active vendor with its merchant ids, user codes and aliases."""
    rows = await conn.execute(
        text(
            f"""
SELECT v.vendor_id, v.name, v.category, v.partner, v.accepts_redemptions,
  COALESCE((SELECT array_agg(merchant_id ORDER BY merchant_id) FROM "{SCHEMA}".vendor_merchant_ids m
            WHERE m.vendor_id = v.vendor_id), '{{}}') AS merchant_ids,
  COALESCE((SELECT array_agg(user_code ORDER BY user_code) FROM "{SCHEMA}".vendor_user_codes u
            WHERE u.vendor_id = v.vendor_id), '{{}}') AS user_codes,
  COALESCE((SELECT array_agg(alias ORDER BY alias) FROM "{SCHEMA}".vendor_aliases a
            WHERE a.vendor_id = v.vendor_id), '{{}}') AS aliases
FROM "{SCHEMA}".vendors v WHERE v.active ORDER BY v.vendor_id
"""
        )
    )
    return [
        Vendor(
            r.vendor_id,
            r.name,
            r.category,
            r.partner,
            r.accepts_redemptions,
            tuple(r.merchant_ids),
            tuple(r.user_codes),
            tuple(r.aliases),
        )
        for r in rows
    ]


async def vendor_exists(conn: AsyncConnection, vendor_id: str) -> bool:
    found = await conn.execute(
        text(f'SELECT 1 FROM "{SCHEMA}".vendors WHERE vendor_id = :v AND active'),
        {"v": vendor_id},
    )
    return found.first() is not None


async def fingerprints(conn: AsyncConnection) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """Cheap signs that the vendor master or what reviewers taught has changed."""
    row = (
        await conn.execute(
            text(
                f'SELECT (SELECT count(*) FROM "{SCHEMA}".vendors), '
                f'(SELECT max(updated_at) FROM "{SCHEMA}".vendors), '
                f'(SELECT count(*) FROM "{SCHEMA}".vendor_learned_aliases), '
                f'(SELECT max(decided_at) FROM "{SCHEMA}".vendor_learned_aliases), '
                f'(SELECT count(*) FROM "{SCHEMA}".vendor_rejections), '
                f'(SELECT max(decided_at) FROM "{SCHEMA}".vendor_rejections)'
            )
        )
    ).one()
    return tuple(row[:2]), tuple(row[2:])


@dataclass
class EngineCache:
    """The matching engine of the current vendor master and lessons: re-indexed when the
    master changes, only handed the new lessons when a reviewer decides."""

    engine: MatchingEngine | None = None
    master: tuple[object, ...] = field(default_factory=tuple)
    learning: tuple[object, ...] = field(default_factory=tuple)

    async def current(self, conn: AsyncConnection) -> MatchingEngine:
        master, learning = await fingerprints(conn)
        if self.engine is None or master != self.master:
            vendors = await load_vendors(conn)
            self.engine = MatchingEngine.build(vendors, learned=await load_learned(conn))
        elif learning != self.learning:
            self.engine = self.engine.with_learned(await load_learned(conn))
        self.master, self.learning = master, learning
        return self.engine


@dataclass(frozen=True)
class ImportReport:
    created: list[str]
    changed: list[str]
    unchanged: int


async def import_vendors(uow: UnitOfWork, vendors: Sequence[Vendor]) -> ImportReport:
    """Upsert the vendors that are new or different and publish their changes; idempotent."""
    existing = {v.vendor_id: v for v in await load_vendors(uow.conn)}
    created: list[str] = []
    changed: list[str] = []
    now = datetime.now(UTC)
    for vendor in vendors:
        before = existing.get(vendor.vendor_id)
        normalised = _sorted(vendor)
        if before is not None and _sorted(before) == normalised:
            continue
        (created if before is None else changed).append(vendor.vendor_id)
        await _write(uow.conn, normalised)
        uow.publish(
            VENDOR_CHANGED_TOPIC,
            vendor.vendor_id,
            VendorChanged(
                message_id=f"vendor:{vendor.vendor_id}:{now.isoformat()}",
                sent_at=now,
                vendor_id=vendor.vendor_id,
                name=vendor.name,
                category=vendor.category,
                partner=vendor.partner,
                accepts_redemptions=vendor.accepts_redemptions,
                active=True,
                changed_at=now,
            ),
        )
    return ImportReport(created, changed, len(vendors) - len(created) - len(changed))


def _sorted(vendor: Vendor) -> Vendor:
    return Vendor(
        vendor.vendor_id,
        vendor.name,
        vendor.category,
        vendor.partner,
        vendor.accepts_redemptions,
        tuple(sorted(vendor.merchant_ids)),
        tuple(sorted(vendor.user_codes)),
        tuple(sorted(vendor.aliases)),
    )


async def _write(conn: AsyncConnection, vendor: Vendor) -> None:
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".vendors (vendor_id, name, category, partner, '
            "accepts_redemptions, active, updated_at) VALUES (:id, :n, :c, :p, :a, true, now()) "
            "ON CONFLICT (vendor_id) DO UPDATE SET name = excluded.name, "
            "category = excluded.category, partner = excluded.partner, "
            "accepts_redemptions = excluded.accepts_redemptions, active = true, "
            "updated_at = excluded.updated_at"
        ),
        {
            "id": vendor.vendor_id,
            "n": vendor.name,
            "c": vendor.category,
            "p": vendor.partner,
            "a": vendor.accepts_redemptions,
        },
    )
    for table, column, values in (
        ("vendor_merchant_ids", "merchant_id", vendor.merchant_ids),
        ("vendor_user_codes", "user_code", vendor.user_codes),
        ("vendor_aliases", "alias", vendor.aliases),
    ):
        await conn.execute(
            text(
                f'DELETE FROM "{SCHEMA}".{table} WHERE vendor_id = :id '
                f"AND NOT ({column} = ANY(CAST(:v AS text[])))"
            ),
            {"id": vendor.vendor_id, "v": list(values)},
        )
        await conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".{table} ({column}, vendor_id) '
                "SELECT unnest(CAST(:v AS text[])), :id "
                f"ON CONFLICT ({column}) DO UPDATE SET vendor_id = excluded.vendor_id"
            ),
            {"id": vendor.vendor_id, "v": list(values)},
        )
