"""Example messages of contracts/examples, for the contract tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.tools import ROOT

EXAMPLES = ROOT / "examples"


def example(topic: str, name: str = "basic") -> dict[str, Any]:
    """A fresh copy of an example message (safe to mutate)."""
    body: dict[str, Any] = json.loads((EXAMPLES / topic / f"{name}.json").read_text())
    return body


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*/*.json"))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
