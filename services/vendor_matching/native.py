"""The matching engine's hot modules compiled to C with mypyc, when a compiler is at hand.

`make` runs `python -m services.vendor_matching.native build` after installing: the
normaliser, the word similarities, the text index, the trade words and the engine's
decision (the uncached path of every match) become extension modules beside their
sources, one group sharing a runtime library
(`native__mypyc`), so calls between them stay in C. Python imports an extension module
before the source of the same name; without a C compiler the build reports why and the
engine runs as plain Python, answering the same.

An extension older than its source would hide an edit: `stale()` names them, the test
session refuses to start on them, and `make` rebuilds whenever a source changes.
`python -m services.vendor_matching.native clean` removes the extensions.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent.parent
MODULES = ("normalise", "similarity", "text_index", "trades", "engine")
GROUP = "services.vendor_matching.native"


def _extensions(module: str, package: Path = PACKAGE) -> list[Path]:
    return [package / f"{module}{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES]


def built() -> list[Path]:
    """The compiled extensions present, shared runtime library included."""
    return [
        path
        for module in (*MODULES, "native__mypyc")
        for path in _extensions(module)
        if path.exists()
    ]


def stale(package: Path = PACKAGE) -> list[str]:
    """Sources edited since their extension was built (the extension would hide the edit)."""
    return [
        f"{module}.py is newer than {path.name}"
        for module in native_sources(package)
        for path in _extensions(module, package)
        if path.exists() and path.stat().st_mtime < (package / f"{module}.py").stat().st_mtime
    ]


def native_sources(package: Path = PACKAGE) -> list[str]:
    return [module for module in MODULES if (package / f"{module}.py").exists()]


def compiled() -> bool:
    """Whether the engine's hot modules run compiled in this process."""
    from services.vendor_matching import text_index  # noqa: PLC0415

    return not (text_index.__file__ or "").endswith(".py")


def clean() -> int:
    for path in built():
        path.unlink()
    return 0


def build() -> int:
    """Compile in place; 0 when built, 1 (with the reason) when the engine stays Python."""
    try:
        from mypyc.build import mypycify  # noqa: PLC0415
        from setuptools import Distribution  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError as exc:
        print(f"native: not compiled, {exc}; the engine runs as plain Python", file=sys.stderr)
        return 1
    clean()
    sources = [str((PACKAGE / f"{module}.py").relative_to(ROOT)) for module in MODULES]
    try:
        # A bare distribution: setup() would read the project's pyproject.toml as well.
        dist = Distribution(
            {
                "name": "loyalty-vendor-matching-native",
                "ext_modules": mypycify(sources, opt_level="3", group_name=GROUP),
            }
        )
        dist.script_args = ["--quiet", "build_ext", "--inplace", "--build-temp", "build/native"]
        dist.parse_command_line()
        dist.run_commands()
    except (Exception, SystemExit) as exc:  # a missing compiler ends setuptools with SystemExit
        clean()
        print(f"native: not compiled ({exc}); the engine runs as plain Python", file=sys.stderr)
        return 1
    # build_ext copies unchanged objects from the build directory with their old times: an
    # extension rebuilt now must not look older than a source edited since the last build.
    for path in built():
        path.touch()
    print(f"native: compiled {', '.join(MODULES)}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.vendor_matching.native", description=__doc__.splitlines()[0]
    )
    parser.add_argument("action", choices=("build", "clean", "check"))
    args = parser.parse_args(argv)
    if args.action == "build":
        import os  # noqa: PLC0415

        os.chdir(ROOT)  # mypyc writes the extensions relative to the working directory
        return build()
    if args.action == "clean":
        return clean()
    problems = stale()
    for problem in problems:
        print(f"native: {problem}: run `make` or `{parser.prog} build`", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
