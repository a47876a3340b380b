"""Every rendered manifest is valid against the Kubernetes OpenAPI schemas (offline)."""

from __future__ import annotations

import copy
import re

import kubernetes_validate
import pytest

from shared.deploy.kustomize import Resource
from tests.unit.deploy.manifests import BUILDS, named, rendered

# The oldest Kubernetes we support (CronJob timeZone, matchLabelKeys) and a current one.
KUBERNETES_VERSIONS = ("1.29", "1.33")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_NAMED_KINDS = {"Service", "Namespace"}  # names that must also be DNS labels


def schema_errors(resource: Resource, version: str) -> str | None:
    try:
        kubernetes_validate.validate(resource, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{'.'.join(map(str, exc.path))}: {exc.message}"
    return None


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("build", sorted(BUILDS))
def test_every_resource_validates_strictly_against_the_kubernetes_schema(build: str, version: str):
    failures = {}
    for resource in rendered(build):
        if resource["kind"] == "KafkaTopic":
            continue  # a Strimzi custom resource: checked in test_topics.py
        error = schema_errors(resource, version)
        if error:
            failures[f"{resource['kind']}/{resource['metadata']['name']}"] = error
    assert not failures


def test_the_schema_check_rejects_a_misspelt_field_and_a_wrong_type():
    deployment = named(rendered("prod"), "Deployment", "accrual")
    assert schema_errors(deployment, KUBERNETES_VERSIONS[0]) is None

    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    assert schema_errors(misspelt, KUBERNETES_VERSIONS[0])

    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "x"
    assert schema_errors(wrong_type, KUBERNETES_VERSIONS[0])


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_names_are_valid_and_unique_per_kind(build: str):
    seen = set()
    for resource in rendered(build):
        kind, name = resource["kind"], resource["metadata"]["name"]
        pattern = DNS_LABEL if kind in LABEL_NAMED_KINDS else DNS_SUBDOMAIN
        assert pattern.match(name), f"{kind} name {name!r}"
        assert len(name) <= 253
        assert (kind, name) not in seen
        seen.add((kind, name))


@pytest.mark.parametrize("build", ["dev", "prod"])
def test_an_overlay_puts_everything_in_its_restricted_namespace(build: str):
    resources = rendered(build)
    (namespace,) = [r for r in resources if r["kind"] == "Namespace"]
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == namespace["metadata"]["name"]
