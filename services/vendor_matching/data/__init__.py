"""Seed vendor master and the labelled descriptor set the matcher is measured on."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_path(name: str) -> Path:
    """Path of a file shipped in this package (`vendors.csv`, `descriptors_eval.csv`)."""
    return Path(str(files(__name__) / name))
