"""The stored programme: versions of the rules file, each rule versioned by its content.

A programme is data: `loyalty rules load` stores a new version; accrual rates with the latest.
When none is stored, the shipped default (programme/default.yaml) becomes version 1 the first
time accrual needs a programme, inside that transaction: a migration stays a statement of
schema (it would otherwise seed whatever the file said on the day it ran), and a fresh
database still earns from its first message on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.accrual.rules.document import ProgrammeDoc
from services.accrual.rules.loader import (
    canonical,
    compile_programme,
    digest,
    load_text,
    next_rule_versions,
)
from services.accrual.rules.model import Programme
from services.accrual.tables import SCHEMA

DEFAULT_FILE = Path(__file__).parent / "programme" / "default.yaml"
FLAT_FILE = Path(__file__).parent / "programme" / "flat.yaml"  # the launch rule, for benches
STORE_LOCK = 0x4C_50_52_47  # one programme store at a time
_compiled: dict[tuple[int, str], Programme] = {}


def document_of(path: Path) -> ProgrammeDoc:
    return load_text(path.read_text(encoding="utf-8"), path.name)


def default_document() -> ProgrammeDoc:
    return document_of(DEFAULT_FILE)


@dataclass(frozen=True, slots=True)
class Stored:
    version: int
    created: bool  # False: the same content was already the latest version
    rule_versions: dict[str, int]
    new_rule_versions: dict[str, int]


@dataclass(frozen=True, slots=True)
class ProgrammeVersion:
    version: int
    name: str
    digest: str
    source: str
    loaded_by: str
    note: str
    loaded_at: datetime
    rule_versions: dict[str, int]


async def _latest(conn: AsyncConnection) -> tuple[int, str] | None:
    row = (
        await conn.execute(
            text(f'SELECT version, digest FROM "{SCHEMA}".programmes ORDER BY version DESC LIMIT 1')
        )
    ).first()
    return (row.version, row.digest) if row else None


async def store(
    conn: AsyncConnection, doc: ProgrammeDoc, *, source: str, actor: str, note: str = ""
) -> Stored:
    """Store `doc` as the next version unless it is the latest already."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": STORE_LOCK})
    latest = await _latest(conn)
    stored_rules = {
        r.rule_id: (r.version, r.digest)
        for r in await conn.execute(
            text(
                f'SELECT DISTINCT ON (rule_id) rule_id, version, digest FROM "{SCHEMA}".'
                "programme_rules ORDER BY rule_id, version DESC"
            )
        )
    }
    versions = next_rule_versions(doc, stored_rules)
    if latest is not None and latest[1] == digest(doc):
        return Stored(latest[0], created=False, rule_versions=versions, new_rule_versions={})
    version = (latest[0] if latest else 0) + 1
    new = {r: v for r, v in versions.items() if stored_rules.get(r, (0, ""))[0] != v}
    rules = {r.id: r for r in doc.rules}
    if new:
        await conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".programme_rules (rule_id, version, digest, definition, '
                "first_programme_version) SELECT r, v, d, CAST(j AS jsonb), :pv FROM unnest("
                "CAST(:r AS text[]), CAST(:v AS int[]), CAST(:d AS text[]), CAST(:j AS text[])) "
                "AS x(r, v, d, j)"
            ),
            {
                "r": list(new),
                "v": list(new.values()),
                "d": [digest(rules[r]) for r in new],
                "j": [canonical(rules[r]).decode() for r in new],
                "pv": version,
            },
        )
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".programmes (version, name, digest, document, '
            "rule_versions, source, loaded_by, note) VALUES (:v, :n, :d, CAST(:doc AS jsonb), "
            "CAST(:rv AS jsonb), :src, :by, :note)"
        ),
        {
            "v": version,
            "n": doc.programme,
            "d": digest(doc),
            "doc": canonical(doc).decode(),
            "rv": orjson.dumps(versions).decode(),
            "src": source,
            "by": actor,
            "note": note,
        },
    )
    return Stored(version, created=True, rule_versions=versions, new_rule_versions=new)


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


async def latest_document(conn: AsyncConnection) -> ProgrammeDoc | None:
    """The latest stored programme as its document, or None if none is stored."""
    row = (
        await conn.execute(
            text(f'SELECT document FROM "{SCHEMA}".programmes ORDER BY version DESC LIMIT 1')
        )
    ).first()
    return ProgrammeDoc.model_validate(_json(row.document)) if row else None


async def load_version(conn: AsyncConnection, version: int) -> Programme:
    row = (
        await conn.execute(
            text(
                f'SELECT version, digest, document, rule_versions FROM "{SCHEMA}".programmes '
                "WHERE version = :v"
            ),
            {"v": version},
        )
    ).first()
    if row is None:
        raise LookupError(f"no programme version {version}")
    key = (row.version, row.digest)
    if key not in _compiled:
        doc = ProgrammeDoc.model_validate(_json(row.document))
        _compiled[key] = compile_programme(doc, _json(row.rule_versions), row.version)
    return _compiled[key]


async def current(conn: AsyncConnection, *, seed: bool = True) -> Programme:
    """The latest stored programme; the shipped default is stored first if there is none."""
    latest = await _latest(conn)
    if latest is None:
        if not seed:
            return compile_programme(default_document())
        stored = await store(
            conn, default_document(), source=DEFAULT_FILE.name, actor="accrual",
            note="the shipped default: no programme was stored",
        )  # fmt: skip
        return await load_version(conn, stored.version)
    if latest in _compiled:
        return _compiled[latest]
    return await load_version(conn, latest[0])


async def versions(conn: AsyncConnection) -> list[ProgrammeVersion]:
    rows = await conn.execute(
        text(
            "SELECT version, name, digest, source, loaded_by, note, loaded_at, rule_versions "
            f'FROM "{SCHEMA}".programmes ORDER BY version'
        )
    )
    return [
        ProgrammeVersion(**{**r._asdict(), "rule_versions": _json(r.rule_versions)}) for r in rows
    ]
