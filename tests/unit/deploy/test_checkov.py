"""checkov finds no failed check in the rendered overlays or in the Dockerfile.

checkov lives in a virtual environment of its own (`make test-tools` creates .venv-tools): it
pins many dependencies that the project's own environment must not inherit. LOYALTY_CHECKOV
names another checkov executable. The overlays are rendered with the project's renderer
(shared/deploy/kustomize.py) first: checkov's own kustomize framework needs kubectl.

A check that cannot apply is skipped next to the resource, with its reason: a
`checkov.io/skipN: CKV_K8S_NN=reason` annotation on the workload, a
`# checkov:skip=CKV_DOCKER_N: reason` comment in the Dockerfile. A skip without a reason fails.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.deploy.kustomize import Resource
from tests.unit.deploy.manifests import OVERLAYS, ROOT, named, rendered, workloads

CHECKOV_ENV = "LOYALTY_CHECKOV"
DEFAULT_CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"
NO_REASON = {"", "No comment provided"}
TIMEOUT_SECONDS = 240

Reports = list[dict[str, Any]]  # checkov's JSON: one report per framework


def checkov_executable() -> Path:
    path = Path(os.environ.get(CHECKOV_ENV, str(DEFAULT_CHECKOV)))
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"checkov is not installed at {path}. Install it with `make test-tools` (a separate "
            f"virtual environment, .venv-tools), or set {CHECKOV_ENV} to a checkov executable.",
            pytrace=False,
        )
    return path


def run_checkov(*arguments: str, cwd: Path) -> Reports:
    """checkov's JSON reports (one per framework), offline (--skip-download)."""
    completed = subprocess.run(
        [str(checkov_executable()), *arguments, "--skip-download", "--output", "json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    # 0: no failed check; 1: some failed. Anything else is checkov itself failing.
    assert completed.returncode in {0, 1}, completed.stderr[-4000:]
    try:
        output = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON report:\n{completed.stderr[-4000:]}", pytrace=False)
    reports = output if isinstance(output, list) else [output]
    for report in reports:
        assert report.get("summary", {}).get("parsing_errors", 0) == 0, report["summary"]
    return reports


def results(reports: Reports, outcome: str) -> list[dict[str, Any]]:
    """The failed_checks, passed_checks or skipped_checks of every report."""
    return [check for report in reports for check in report.get("results", {}).get(outcome, [])]


def failures(reports: Reports) -> list[str]:
    return sorted(
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})"
        for c in results(reports, "failed_checks")
    )


def skips_without_a_reason(reports: Reports) -> list[str]:
    return sorted(
        f"{c['check_id']}: {c['resource']} ({c['file_path']})"
        for c in results(reports, "skipped_checks")
        if str(c["check_result"].get("suppress_comment", "")).strip() in NO_REASON
    )


def scanned_resources(reports: Reports) -> set[str]:
    return {
        str(check["resource"])
        for outcome in ("passed_checks", "failed_checks", "skipped_checks")
        for check in results(reports, outcome)
    }


def write_manifests(directory: Path, name: str, resources: list[Resource]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump_all(resources, sort_keys=False)
    (directory / f"{name}.yaml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def overlay_reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    directory = tmp_path_factory.mktemp("checkov-overlays")
    for overlay in OVERLAYS:
        write_manifests(directory, overlay, rendered(overlay))
    return run_checkov("--directory", str(directory), "--framework", "kubernetes", cwd=directory)


@pytest.fixture(scope="module")
def dockerfile_reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    dockerfile = ROOT / "Dockerfile"
    cwd = tmp_path_factory.mktemp("checkov-dockerfile")
    return run_checkov("--file", str(dockerfile), "--framework", "dockerfile", cwd=cwd)


def test_checkov_scanned_every_workload_of_every_overlay(
    overlay_reports: list[dict[str, Any]],
) -> None:
    scanned = scanned_resources(overlay_reports)
    for overlay in OVERLAYS:
        for workload in workloads(rendered(overlay)):
            meta = workload["metadata"]
            resource = f"{workload['kind']}.{meta['namespace']}.{meta['name']}"
            assert resource in scanned, resource


def test_checkov_finds_no_failed_check_in_the_rendered_overlays(
    overlay_reports: list[dict[str, Any]],
) -> None:
    failed = failures(overlay_reports)
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)


def test_every_skip_in_the_manifests_says_why(overlay_reports: Reports) -> None:
    assert not skips_without_a_reason(overlay_reports)


def test_checkov_finds_no_failed_check_in_the_dockerfile(
    dockerfile_reports: list[dict[str, Any]],
) -> None:
    assert results(dockerfile_reports, "passed_checks"), "checkov checked nothing"
    failed = failures(dockerfile_reports)
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)


def test_every_skip_in_the_dockerfile_says_why(dockerfile_reports: Reports) -> None:
    assert not skips_without_a_reason(dockerfile_reports)


def test_checkov_reports_a_deployment_without_limits_or_its_skips(tmp_path: Path) -> None:
    """The harness can fail: a weakened Deployment's failures come back, one by one."""
    deployment = copy.deepcopy(named(rendered("prod"), "Deployment", "accrual"))
    del deployment["metadata"]["annotations"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    del container["resources"]["limits"]
    write_manifests(tmp_path / "weakened", "accrual", [deployment])
    reports = run_checkov(
        "--directory",
        str(tmp_path / "weakened"),
        "--framework",
        "kubernetes",
        "--check",
        "CKV_K8S_11,CKV_K8S_13,CKV_K8S_43,CKV_K8S_28",
        cwd=tmp_path,
    )
    failed = {check["check_id"] for check in results(reports, "failed_checks")}
    assert failed == {"CKV_K8S_11", "CKV_K8S_13", "CKV_K8S_43"}
    assert {check["check_id"] for check in results(reports, "passed_checks")} == {"CKV_K8S_28"}
