"""The Dockerfile builds a small non-root runtime image, and .dockerignore sends only sources."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.unit.deploy.manifests import ROOT

BUILD_TOOLS = re.compile(
    r"\b(apt-get|apt|apk|dnf|yum|pip|gcc|g\+\+|cc|make|build-essential|python3?-dev|curl|wget)\b"
)


@dataclass
class Instruction:
    keyword: str
    arguments: str
    line: int


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs and stages, with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined = (pending + stripped).strip()
        pending = ""
        keyword, _, arguments = joined.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
    assert not pending, "a continuation line runs off the end"

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(words[0], name))
        elif not stages:
            assert instruction.keyword == "ARG", "only ARG may come before the first FROM"
            key, _, value = instruction.arguments.partition("=")
            global_args[key] = value
        else:
            stages[-1].instructions.append(instruction)
    return global_args, stages


def exec_form(instruction: Instruction) -> list[str]:
    value = json.loads(instruction.arguments)
    assert isinstance(value, list)
    return [str(v) for v in value]


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_a_builder_stage_and_a_runtime_stage_on_the_same_pinned_python(dockerfile):
    global_args, stages = dockerfile
    assert [s.name for s in stages] == ["builder", "runtime"]
    assert {s.base for s in stages} == {"${PYTHON_IMAGE}"}
    image = global_args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11[\w.-]*-slim[\w.-]*", image), image


def test_the_runtime_stage_runs_as_a_non_root_user_and_has_no_build_tools(dockerfile):
    _, stages = dockerfile
    runtime = stages[-1]
    user = runtime.all("USER")[-1].arguments
    uid, _, gid = user.partition(":")
    assert uid == "10001", "numeric, so runAsNonRoot can verify it"
    assert gid.isdigit()
    assert int(gid) != 0
    for run in runtime.all("RUN"):
        assert not BUILD_TOOLS.search(run.arguments), f"line {run.line}: {run.arguments}"
    copies = runtime.all("COPY")
    assert [c.arguments for c in copies] == ["--from=builder /opt/loyalty /opt/loyalty"]
    assert not runtime.all("ADD")


def test_the_runtime_stage_writes_nothing_and_starts_the_loyalty_command(dockerfile, pyproject):
    _, stages = dockerfile
    runtime = stages[-1]
    env = " ".join(i.arguments for i in runtime.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "PATH=/opt/loyalty/bin:$PATH" in env
    assert exec_form(runtime.all("ENTRYPOINT")[-1]) == ["loyalty"]
    assert exec_form(runtime.all("CMD")[-1]) == ["--help"]
    assert "loyalty" in pyproject["project"]["scripts"]  # type: ignore[index,operator]
    assert not runtime.all("HEALTHCHECK"), "Kubernetes probes and compose healthchecks do it"
    assert not runtime.all("VOLUME"), "a VOLUME would be written to at run time"


def test_the_builder_installs_every_package_of_the_wheel(dockerfile, pyproject):
    _, stages = dockerfile
    builder = stages[0]
    copied = set()
    for copy in builder.all("COPY"):
        *sources, _ = copy.arguments.split()
        copied |= {s.rstrip("/") for s in sources if not s.startswith("--")}
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]  # type: ignore[index]
    readme = pyproject["project"]["readme"]  # type: ignore[index]
    assert copied == {*packages, "pyproject.toml", readme}


def test_the_dependency_step_lists_exactly_the_projects_dependencies(dockerfile, pyproject):
    """The inline Python of the cached dependency layer works and reads pyproject right."""
    _, stages = dockerfile
    (step,) = [r for r in stages[0].all("RUN") if "tomllib" in r.arguments]
    command = shlex.split(step.arguments.split(">", 1)[0])
    assert command[:2] == ["python", "-c"]
    output = subprocess.run(
        [sys.executable, "-c", command[2]], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert output.splitlines() == pyproject["project"]["dependencies"]  # type: ignore[index]


# ---- .dockerignore ----


def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = ""
        index = 0
        while index < len(glob):
            if glob.startswith("**/", index):
                regex, index = regex + "(.*/)?", index + 3
            elif glob.startswith("**", index):
                regex, index = regex + ".*", index + 2
            elif glob[index] == "*":
                regex, index = regex + "[^/]*", index + 1
            elif glob[index] == "?":
                regex, index = regex + "[^/]", index + 1
            elif glob[index] == "[":
                end = glob.index("]", index)
                regex, index = regex + glob[index : end + 1], end + 1
            else:
                regex, index = regex + re.escape(glob[index]), index + 1
        patterns.append((negated, re.compile(regex)))
    return patterns


def sent_to_the_build(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for negated, pattern in patterns:
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            included = negated
    return included


def test_the_build_context_is_the_sources_and_nothing_else():
    patterns = ignore_patterns()
    for path in (
        "pyproject.toml",
        "README.md",
        "contracts/__init__.py",
        "shared/db/script.py.mako",
        "services/accrual/migrations/versions/0001_initial.py",
        "services/vendor_matching/data/vendors.csv",
    ):
        assert sent_to_the_build(path, patterns), path
    for path in (
        ".venv/bin/python",
        ".loyalty/state.json",
        ".git/HEAD",
        "tests/unit/deploy/test_dockerfile.py",
        "k8s/base/kustomization.yaml",
        "docker-compose.yml",
        "shared/__pycache__/cli.cpython-311.pyc",
        "services/accrual/__pycache__/app.cpython-311.pyc",
        ".mypy_cache/3.11/x.json",
    ):
        assert not sent_to_the_build(path, patterns), path


def test_every_copied_source_is_in_the_build_context(dockerfile):
    _, stages = dockerfile
    patterns = ignore_patterns()
    for copy in stages[0].all("COPY"):
        *sources, _ = copy.arguments.split()
        for source in sources:
            path = Path(ROOT / source)
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            kept = [
                f
                for f in files
                if "__pycache__" not in f.parts
                and sent_to_the_build(f.relative_to(ROOT).as_posix(), patterns)
            ]
            assert kept, source
            assert all(
                sent_to_the_build(f.relative_to(ROOT).as_posix(), patterns)
                for f in files
                if "__pycache__" not in f.parts
            ), source
