"""GnuCOBOL for the tests: compile the programs in tests/cobol with the bank's copybooks.

Needs `cobc`: Debian's gnucobol3 package (`apt-get install -y gnucobol3`), which `make test`
installs. Without it the tests that use it fail, saying so; they never skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from services.debit_orders.copybook import COPYBOOKS

PROGRAMS = Path(__file__).parents[1] / "cobol"


def compile_program(name: str, directory: Path) -> Path:
    """tests/cobol/NAME.cbl compiled into directory; an AssertionError saying why if not."""
    cobc = shutil.which("cobc")
    assert cobc, (
        "GnuCOBOL's cobc is missing: install it with "
        "`apt-get update && apt-get install -y gnucobol3` (`make test` does)"
    )
    binary = directory / name.lower()
    built = subprocess.run(
        [cobc, "-x", "-I", str(COPYBOOKS), "-o", str(binary), str(PROGRAMS / f"{name}.cbl")],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    return binary


def lycheck(binary: Path, lycred: Path) -> list[list[str]]:
    """LYCHECK's lines for a LYCRED file, each split at '|'; the last is AGREE or DISAGREE."""
    out = subprocess.run(
        [str(binary), str(lycred)], check=True, capture_output=True, text=True
    ).stdout
    return [[part.strip() for part in line.split("|")] for line in out.splitlines() if line]
