"""The committed artefacts of the contracts and the checks on them.

- `schemas/<topic>.json`: the JSON Schema of each topic's latest version (generated).
- `asyncapi/<service>.json`: an AsyncAPI 3.0 document per service (generated).
- `released/<topic>.json`: the schema as released (frozen by `release`); every change must
  stay BACKWARD compatible with it: a consumer on the new schema reads every message
  written under the released one.
- `examples/<topic>/*.json`: example messages, written by hand; the tests validate them.

`loyalty contracts gen` writes the generated files, `loyalty contracts check` fails on drift
or on a breaking change.
"""

from __future__ import annotations

import json
from pathlib import Path

from contracts.compatibility import breaking_changes
from contracts.generate import (
    dumps,
    generate_asyncapi,
    generate_schemas,
    schema_for,
    topic_catalogue_markdown,
)
from contracts.registry import TOPICS

__all__ = [
    "ROOT",
    "breaking_changes",
    "check_compatibility",
    "check_drift",
    "dumps",
    "generate_schemas",
    "generated_files",
    "release",
    "schema_for",
    "topic_catalogue_markdown",
    "write_all",
]

ROOT = Path(__file__).parent
GENERATED_DIRS = ("schemas", "asyncapi")
REGENERATE = "run `loyalty contracts gen`"


def generated_files() -> dict[Path, str]:
    """Path relative to the contracts root -> content, for every generated file."""
    files = {Path("schemas") / f"{t}.json": dumps(s) for t, s in generate_schemas().items()}
    files |= {Path("asyncapi") / f"{s}.json": dumps(d) for s, d in generate_asyncapi().items()}
    return files


def write_all(root: Path = ROOT) -> list[Path]:
    """Write every generated file that is missing or differs; the paths written."""
    written = []
    for relative, content in generated_files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            written.append(path)
    return written


def check_drift(root: Path = ROOT) -> list[str]:
    """Differences between the committed generated files and what the models generate."""
    expected = generated_files()
    problems = []
    for relative, content in expected.items():
        path = root / relative
        if not path.exists():
            problems.append(f"{relative}: missing ({REGENERATE})")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{relative}: differs from the models ({REGENERATE})")
    for directory in GENERATED_DIRS:
        for path in sorted((root / directory).glob("*.json")):
            relative = path.relative_to(root)
            if relative not in expected:
                problems.append(f"{relative}: not generated from the registry (remove it)")
    return problems


def release(topic: str, root: Path = ROOT) -> Path:
    """Freeze the current schema of a topic as its released baseline (refused if that would
    break the baseline already released)."""
    path = root / "released" / f"{topic}.json"
    current = schema_for(topic)
    if path.exists():
        problems = breaking_changes(json.loads(path.read_text(encoding="utf-8")), current)
        if problems:
            raise ValueError(f"{topic}: not compatible with its release: {'; '.join(problems)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(current), encoding="utf-8")
    return path


def check_compatibility(root: Path = ROOT) -> list[str]:
    """Breaking changes of every topic's current schema against its released baseline."""
    problems = []
    for topic in TOPICS:
        path = root / "released" / f"{topic}.json"
        if not path.exists():
            problems.append(f"{topic}: no released baseline in released/")
            continue
        baseline = json.loads(path.read_text(encoding="utf-8"))
        problems += [f"{topic}: {p}" for p in breaking_changes(baseline, schema_for(topic))]
    return problems
