"""The translation catalogue in the database: every customer-facing text, by key and language."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.customer_profile.domain import FALLBACK_LANGUAGE
from services.customer_profile.tables import SCHEMA
from services.customer_profile.translations import Translation


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    changed: int
    unchanged: int


async def english_texts(conn: AsyncConnection, keys: Iterable[str]) -> dict[str, str]:
    """The English text of each of these keys that has one."""
    rows = await conn.execute(
        text(
            f'SELECT text_key, text FROM "{SCHEMA}".translations '
            "WHERE language = :en AND text_key = ANY(CAST(:k AS text[]))"
        ),
        {"en": FALLBACK_LANGUAGE, "k": sorted(set(keys))},
    )
    return {r.text_key: r.text for r in rows}


async def import_translations(
    conn: AsyncConnection, translations: Sequence[Translation]
) -> ImportReport:
    """Upsert texts; an unchanged text is not written again (no audit row, same outcome)."""
    if not translations:
        return ImportReport(0, 0, 0)
    ordered = sorted(translations, key=lambda t: (t.text_key, t.language))
    result = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".translations AS t (text_key, language, text) '
            "SELECT * FROM unnest(CAST(:k AS text[]), CAST(:l AS text[]), CAST(:x AS text[])) "
            "ON CONFLICT (text_key, language) DO UPDATE SET text = excluded.text "
            "WHERE t.text IS DISTINCT FROM excluded.text "
            "RETURNING (xmax = 0) AS created"
        ),
        {
            "k": [t.text_key for t in ordered],
            "l": [t.language for t in ordered],
            "x": [t.text for t in ordered],
        },
    )
    written = [r.created for r in result]
    created = sum(written)
    return ImportReport(created, len(written) - created, len(ordered) - len(written))


async def texts_in(conn: AsyncConnection, language: str) -> dict[tuple[str, str], str]:
    """The texts of a language and of the English fallback, keyed by (text_key, language)."""
    rows = await conn.execute(
        text(
            f'SELECT text_key, language, text FROM "{SCHEMA}".translations '
            "WHERE language = ANY(CAST(:l AS text[]))"
        ),
        {"l": sorted({language, FALLBACK_LANGUAGE})},
    )
    return {(r.text_key, r.language): r.text for r in rows}
