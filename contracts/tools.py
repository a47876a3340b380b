"""Generated artefacts of the contracts and the checks on them.

- `schemas/<topic>.json`: the JSON Schema of each topic's latest version (generated).
- `released/<topic>.json`: the schema as released; a change must stay BACKWARD compatible
  with it (a consumer on the new schema reads every message written under the old one).
- `examples/<topic>/*.json`: example messages; the tests validate them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.registry import TOPICS

ROOT = Path(__file__).parent


def schema_for(topic: str) -> dict[str, Any]:
    descriptor = TOPICS[topic]
    schema = descriptor.latest.model_json_schema(mode="validation")
    schema["$id"] = f"urn:loyalty:contracts:{topic}"
    schema["x-topic"] = {
        "name": topic,
        "version": descriptor.latest_version,
        "key": descriptor.key,
        "compatibility": descriptor.compatibility,
    }
    return schema


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generated_files() -> dict[Path, str]:
    """Relative path -> content of every generated file."""
    return {Path("schemas") / f"{topic}.json": dumps(schema_for(topic)) for topic in TOPICS}


def write_all(root: Path = ROOT) -> list[Path]:
    written = []
    for relative, content in generated_files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
            written.append(path)
    return written


def check_drift(root: Path = ROOT) -> list[str]:
    """Differences between the models and the committed generated files."""
    problems = []
    for relative, content in generated_files().items():
        path = root / relative
        if not path.exists():
            problems.append(f"{relative}: missing (run `loyalty contracts gen`)")
        elif path.read_text() != content:
            problems.append(f"{relative}: differs from the models (run `loyalty contracts gen`)")
    return problems


def release(topic: str, root: Path = ROOT) -> Path:
    """Freeze the current schema of a topic as its released baseline."""
    path = root / "released" / f"{topic}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(schema_for(topic)))
    return path


def check_compatibility(root: Path = ROOT) -> list[str]:
    """Breaking changes of every topic against its released baseline."""
    problems = []
    for topic in TOPICS:
        path = root / "released" / f"{topic}.json"
        if not path.exists():
            problems.append(f"{topic}: no released baseline in released/")
            continue
        baseline = json.loads(path.read_text())
        problems += [f"{topic}: {p}" for p in breaking_changes(baseline, schema_for(topic))]
    return problems


# --- BACKWARD compatibility of JSON Schemas ---------------------------------------------

_TIGHTER_IF_LARGER = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_TIGHTER_IF_SMALLER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root.get("$defs", {})[name]
    return schema


def _variants(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return [v for option in schema["anyOf"] for v in _variants(option, root)]
    return [schema]


def _type_names(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    names = set()
    for variant in _variants(schema, root):
        kind = variant.get("type")
        if kind == "integer":
            names.add("integer")
        elif isinstance(kind, str):
            names.add(kind)
        elif "const" in variant:
            names.add(type(variant["const"]).__name__)
        elif "enum" in variant:
            names.add("enum")
    return names


def _enum_values(schema: dict[str, Any], root: dict[str, Any]) -> set[Any] | None:
    values: set[Any] = set()
    for variant in _variants(schema, root):
        if "enum" in variant:
            values |= set(variant["enum"])
        elif "const" in variant:
            values.add(variant["const"])
        elif variant.get("type") != "null":
            return None  # not an enum: any value of the type
    return values


def _limit_changes(old_s: dict[str, Any], new_s: dict[str, Any], here: str) -> list[str]:
    problems = [
        f"{here}: {key} tightened to {new_s[key]}"
        for key in _TIGHTER_IF_LARGER
        if key in new_s and new_s[key] > old_s.get(key, float("-inf"))
    ]
    problems += [
        f"{here}: {key} tightened to {new_s[key]}"
        for key in _TIGHTER_IF_SMALLER
        if key in new_s and new_s[key] < old_s.get(key, float("inf"))
    ]
    if "pattern" in new_s and new_s.get("pattern") != old_s.get("pattern"):
        problems.append(f"{here}: pattern changed to {new_s['pattern']!r}")
    return problems


def _value_changes(
    old_s: dict[str, Any], new_s: dict[str, Any], here: str,
    old_root: dict[str, Any], new_root: dict[str, Any],
) -> list[str]:  # fmt: skip
    problems = []
    old_types, new_types = _type_names(old_s, old_root), _type_names(new_s, new_root)
    if old_types and new_types and not old_types <= new_types and "enum" not in old_types:
        problems.append(f"{here}: type changed from {sorted(old_types)} to {sorted(new_types)}")
    old_enum, new_enum = _enum_values(old_s, old_root), _enum_values(new_s, new_root)
    if old_enum is not None and new_enum is not None and not old_enum <= new_enum:
        problems.append(f"{here}: enum values removed: {sorted(map(str, old_enum - new_enum))}")
    return problems + _limit_changes(old_s, new_s, here)


def breaking_changes(
    old: dict[str, Any], new: dict[str, Any], path: str = "", *,
    old_root: dict[str, Any] | None = None, new_root: dict[str, Any] | None = None,
) -> list[str]:  # fmt: skip
    """What a consumer using `new` could not read of messages written under `old`."""
    old_root = old_root if old_root is not None else old
    new_root = new_root if new_root is not None else new
    old_s, new_s = _resolve(old, old_root), _resolve(new, new_root)
    here = path or "<message>"
    problems = _value_changes(old_s, new_s, here, old_root, new_root)
    old_props = old_s.get("properties", {})
    new_props = new_s.get("properties", {})
    old_required, new_required = set(old_s.get("required", [])), set(new_s.get("required", []))
    closed = new_s.get("additionalProperties") is False
    for name in sorted(old_props):
        child = f"{path}.{name}" if path else name
        if name not in new_props:
            if closed:
                problems.append(f"{child}: field removed (old messages carry it)")
            continue
        if name in new_required and name not in old_required:
            problems.append(f"{child}: optional field became required")
        problems += breaking_changes(
            old_props[name], new_props[name], child, old_root=old_root, new_root=new_root
        )
    problems += [
        f"{f'{path}.{name}' if path else name}: new required field (old messages lack it)"
        for name in sorted(set(new_props) - set(old_props))
        if name in new_required
    ]
    if "items" in old_s and "items" in new_s:
        problems += breaking_changes(
            old_s["items"], new_s["items"], f"{here}[]", old_root=old_root, new_root=new_root
        )
    return problems
