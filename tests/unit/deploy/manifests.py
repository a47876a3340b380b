"""What the deployment tests read: the repository's artefacts, rendered and walked."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from shared.deploy.kustomize import Resource, render

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "k8s"
BASE = K8S / "base"
OVERLAYS = {"dev": K8S / "overlays" / "dev", "prod": K8S / "overlays" / "prod"}
BUILDS = {"base": BASE, **OVERLAYS}

WORKLOAD_KINDS = ("Deployment", "Job", "CronJob")
MONITORING_NAMESPACE = "monitoring"
ALLOWED_EGRESS_PORTS = {9092, 9093, 5432, 53}
HTTP_PORT = 8080
MAX_MEMORY_LIMIT_MI = 384


@functools.cache
def _rendered(build: str) -> tuple[Resource, ...]:
    return tuple(render(BUILDS[build]))


def rendered(build: str) -> list[Resource]:
    """The resources of a build (base, dev or prod): rendered once, a fresh copy each time."""
    return copy.deepcopy(list(_rendered(build)))


def of_kind(resources: list[Resource], kind: str) -> list[Resource]:
    return [r for r in resources if r["kind"] == kind]


def named(resources: list[Resource], kind: str, name: str) -> Resource:
    found = [r for r in of_kind(resources, kind) if r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_template(resource: Resource) -> dict[str, Any]:
    """The pod template of a Deployment, Job or CronJob."""
    spec = (
        resource["spec"]["jobTemplate"]["spec"]
        if resource["kind"] == "CronJob"
        else resource["spec"]
    )
    template: dict[str, Any] = spec["template"]
    return template


def workloads(resources: list[Resource]) -> list[Resource]:
    return [r for r in resources if r["kind"] in WORKLOAD_KINDS]


def containers(resource: Resource) -> Iterator[dict[str, Any]]:
    spec = pod_template(resource)["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels / matchExpressions) selects these labels."""
    if not selector:
        return True
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        present, value = key in labels, labels.get(key)
        matches = {
            "In": value in expression.get("values", []),
            "NotIn": value not in expression.get("values", []),
            "Exists": present,
            "DoesNotExist": not present,
        }
        if not matches[operator]:
            return False
    return True


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def memory_mi(quantity: str) -> float:
    units = {
        "Ki": 1 / 1024,
        "Mi": 1,
        "Gi": 1024,
        "K": 1e3 / 2**20,
        "M": 1e6 / 2**20,
        "G": 1e9 / 2**20,
    }
    for unit, factor in units.items():
        if quantity.endswith(unit):
            return float(quantity[: -len(unit)]) * factor
    return float(quantity) / 2**20


def load_yaml_file(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
