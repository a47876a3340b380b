"""The compiled matching modules: an extension older than its source is reported stale."""

from __future__ import annotations

import importlib.machinery
import os
from pathlib import Path

from services.vendor_matching import native


def _package(tmp_path: Path) -> Path:
    for module in native.MODULES:
        (tmp_path / f"{module}.py").write_text("# source\n")
    return tmp_path


def test_no_extension_is_never_stale(tmp_path: Path) -> None:
    assert native.stale(_package(tmp_path)) == []


def test_an_extension_older_than_its_source_is_stale_and_a_newer_one_is_not(
    tmp_path: Path,
) -> None:
    package = _package(tmp_path)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    extension = package / f"text_index{suffix}"
    extension.write_bytes(b"\x7fELF")
    source = package / "text_index.py"
    os.utime(extension, (1_000_000, 1_000_000))
    os.utime(source, (2_000_000, 2_000_000))
    assert native.stale(package) == [f"text_index.py is newer than {extension.name}"]
    os.utime(extension, (3_000_000, 3_000_000))
    assert native.stale(package) == []


def test_the_checked_in_tree_is_not_stale() -> None:
    # Whatever `make` built (or nothing, without a C compiler) matches the sources.
    assert native.stale() == []
