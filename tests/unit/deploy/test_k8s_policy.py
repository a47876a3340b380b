"""Hardening and wiring rules that every rendered manifest must keep (base, dev and prod)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
from pathlib import PurePosixPath
from typing import Any

import pytest

from contracts.registry import TOPICS, topics_consumed_by
from shared.cli import build_parser
from shared.runtime import process_lanes
from shared.settings import SERVICES, KafkaSecurity, PlatformSettings, ServiceSettings
from shared.up import Process, platform_processes
from tests.unit.deploy.manifests import (
    ALLOWED_EGRESS_PORTS,
    BUILDS,
    HTTP_PORT,
    K8S,
    MAX_MEMORY_LIMIT_MI,
    MONITORING_NAMESPACE,
    containers,
    env_of,
    memory_mi,
    named,
    of_kind,
    pod_template,
    rendered,
    selects,
    workloads,
)

ALL_BUILDS = sorted(BUILDS)
OVERLAY_BUILDS = ["dev", "prod"]
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "CREDENTIAL")
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s:]+:[^/@\s]+@")
# Commands the manifests already schedule, which the `loyalty` command does not have yet.
PENDING_COMMANDS = {"wallet", "debit-orders"}
UID = 10001
TMP = "/tmp"  # noqa: S108  (the one writable path, an emptyDir)


def k8s_name(service: str) -> str:
    return service.replace("_", "-")


def env_prefix(service: str) -> str:
    return f"LOYALTY_{service.upper()}_"


# The platform's processes, as `loyalty up` runs them: each a Deployment of its own.
PROCESSES = {p.name: p for p in platform_processes()}


def partitions_consumed(process: Process) -> list[int]:
    """The partition counts of the topics the process's lanes consume."""
    definition = importlib.import_module(f"services.{process.service}.app").definition()
    topics = [s.topic for lane in process_lanes(definition, process.lanes).values() for s in lane]
    assert set(topics) <= set(topics_consumed_by(process.service)), process
    return [TOPICS[topic].partitions for topic in topics]


# ---- every pod: hardened, bounded, observable ----


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_every_pod_runs_as_a_non_root_user_with_nothing_it_does_not_need(build: str):
    for workload in workloads(rendered(build)):
        spec = pod_template(workload)["spec"]
        where = f"{build}: {workload['kind']}/{workload['metadata']['name']}"
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, where
        assert pod_security["runAsUser"] == UID, where
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(flag), where
        for container in containers(workload):
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, where
            assert security["runAsUser"] == UID, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security.get("privileged", False) is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_every_container_has_requests_and_limits_within_budget(build: str):
    for workload in workloads(rendered(build)):
        for container in containers(workload):
            where = f"{build}: {workload['metadata']['name']}"
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert set(resources[bound]) >= {"cpu", "memory"}, where
            limit = memory_mi(resources["limits"]["memory"])
            assert limit <= MAX_MEMORY_LIMIT_MI, where
            assert memory_mi(resources["requests"]["memory"]) <= limit, where


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_every_pod_writes_only_to_a_bounded_tmp_and_its_own_files(build: str):
    for workload in workloads(rendered(build)):
        name = workload["metadata"]["name"]
        volumes = {v["name"]: v for v in pod_template(workload)["spec"]["volumes"]}
        for container in containers(workload):
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            assert volumes[mounts[TMP]["name"]]["emptyDir"]["sizeLimit"], name
            for path, mount in mounts.items():
                volume = volumes[mount["name"]]
                if "emptyDir" in volume:
                    assert path == TMP, name
                elif "persistentVolumeClaim" in volume:  # the mainframe file exchange
                    assert name.startswith("debit-orders-"), name
                else:
                    assert mount.get("readOnly") is True, (name, path)


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_every_pod_has_its_own_token_less_service_account(build: str):
    resources = rendered(build)
    accounts = {sa["metadata"]["name"]: sa for sa in of_kind(resources, "ServiceAccount")}
    for workload in workloads(resources):
        account = pod_template(workload)["spec"]["serviceAccountName"]
        assert accounts[account]["automountServiceAccountToken"] is False
    for deployment in of_kind(resources, "Deployment"):
        name = deployment["metadata"]["name"]
        assert pod_template(deployment)["spec"]["serviceAccountName"] == name


@pytest.mark.parametrize("build", OVERLAY_BUILDS)
def test_one_pinned_image_everywhere(build: str):
    images = {c["image"] for w in workloads(rendered(build)) for c in containers(w)}
    assert len(images) == 1, images
    (image,) = images
    name, _, tag = image.rpartition(":")
    assert "@sha256:" in image or (name and tag and tag != "latest"), image
    for workload in workloads(rendered(build)):
        for container in containers(workload):
            assert container["imagePullPolicy"] == "IfNotPresent"


# ---- the services ----


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_each_process_of_the_platform_runs_as_its_own_deployment(build: str):
    deployments = of_kind(rendered(build), "Deployment")
    assert sorted(d["metadata"]["name"] for d in deployments) == sorted(map(k8s_name, PROCESSES))
    for process in PROCESSES.values():
        (container,) = containers(named(deployments, "Deployment", k8s_name(process.name)))
        assert container["args"] == process.command()
    # Every lane of every service is consumed by exactly one Deployment.
    for service in SERVICES:
        definition = importlib.import_module(f"services.{service}.app").definition()
        lanes = [
            lane
            for p in PROCESSES.values()
            if p.service == service
            for lane in process_lanes(definition, p.lanes)
        ]
        assert sorted(lanes) == sorted(process_lanes(definition, "")), service


@pytest.mark.parametrize("build", ALL_BUILDS)
@pytest.mark.parametrize("name", PROCESSES)
def test_a_process_serves_health_and_metrics_on_its_http_port(build: str, name: str):
    service = PROCESSES[name].service
    deployment = named(rendered(build), "Deployment", k8s_name(name))
    template = pod_template(deployment)
    (container,) = containers(deployment)
    assert container["ports"] == [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}]
    env = env_of(container)
    assert env[env_prefix(service) + "HTTP_HOST"]["value"] == "0.0.0.0"  # noqa: S104
    assert env[env_prefix(service) + "HTTP_PORT"]["value"] == str(HTTP_PORT)
    for probe, path in (
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ):
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    assert template["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(HTTP_PORT),
        "prometheus.io/path": "/metrics",
    }
    labels = template["metadata"]["labels"]
    assert selects(deployment["spec"]["selector"], labels)
    (service_resource,) = [
        s
        for s in of_kind(rendered(build), "Service")
        if selects({"matchLabels": s["spec"]["selector"]}, labels)
    ]
    assert service_resource["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize("build", ALL_BUILDS)
@pytest.mark.parametrize("name", PROCESSES)
def test_a_process_gets_its_services_database_password_and_no_other(build: str, name: str):
    service = PROCESSES[name].service
    (container,) = containers(named(rendered(build), "Deployment", k8s_name(name)))
    passwords = {var for var in env_of(container) if var.endswith("_DB_PASSWORD")}
    assert passwords == {env_prefix(service) + "DB_PASSWORD"}
    assert "LOYALTY_DATABASE_URL" not in env_of(container)  # the admin URL is the Job's alone


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_every_runtime_password_comes_from_its_own_services_key(build: str):
    for workload in workloads(rendered(build)):
        for container in containers(workload):
            for name, entry in env_of(container).items():
                service = name.removeprefix("LOYALTY_").removesuffix("_DB_PASSWORD").lower()
                if name.endswith("_DB_PASSWORD"):
                    assert service in SERVICES, name
                    assert entry["valueFrom"]["secretKeyRef"] == {
                        "name": "loyalty-db-passwords",
                        "key": service,
                    }, (workload["metadata"]["name"], name)


@pytest.mark.parametrize("build", ALL_BUILDS)
@pytest.mark.parametrize("name", PROCESSES)
def test_a_process_has_a_disruption_budget_that_allows_a_drain(build: str, name: str):
    resources = rendered(build)
    labels = pod_template(named(resources, "Deployment", k8s_name(name)))["metadata"]["labels"]
    budgets = [
        p
        for p in of_kind(resources, "PodDisruptionBudget")
        if selects(p["spec"]["selector"], labels)
    ]
    assert len(budgets) == 1
    assert budgets[0]["spec"].get("maxUnavailable", 0) >= 1


@pytest.mark.parametrize("build", ALL_BUILDS)
@pytest.mark.parametrize("name", PROCESSES)
def test_a_process_scales_on_cpu_up_to_the_partitions_it_consumes(build: str, name: str):
    process = PROCESSES[name]
    resources = rendered(build)
    autoscalers = [
        h
        for h in of_kind(resources, "HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]
        == {"apiVersion": "apps/v1", "kind": "Deployment", "name": k8s_name(name)}
    ]
    assert len(autoscalers) == 1
    spec = autoscalers[0]["spec"]
    assert 1 <= spec["minReplicas"] <= spec["maxReplicas"]
    partitions = partitions_consumed(process)
    # A consumer beyond the largest topic's partition count would get no partition at all.
    assert spec["maxReplicas"] <= max(partitions, default=1), (name, partitions)
    assert [m["resource"]["name"] for m in spec["metrics"]] == ["cpu"]


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_network_policies_deny_by_default_and_allow_only_kafka_postgres_dns_and_scrapes(build: str):
    resources = rendered(build)
    policies = of_kind(resources, "NetworkPolicy")
    deny = named(resources, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for workload in workloads(resources):
        labels = pod_template(workload)["metadata"]["labels"]
        own = [
            p
            for p in policies
            if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels)
        ]
        assert len(own) == 1, workload["metadata"]["name"]
        spec = own[0]["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        ports = {port["port"] for rule in spec["egress"] for port in rule["ports"]}
        assert ports <= ALLOWED_EGRESS_PORTS
        assert all("to" not in rule or rule["to"] for rule in spec["egress"])
        for rule in spec.get("ingress", []):
            assert [p["port"] for p in rule["ports"]] == [HTTP_PORT]
            assert rule["from"] == [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}
                    }
                }
            ]
        if workload["kind"] != "Deployment":
            assert not spec.get("ingress"), "batch pods take no connections"


# ---- batch ----


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_batch_runs_never_overlap_and_always_end(build: str):
    resources = rendered(build)
    cronjobs = of_kind(resources, "CronJob")
    assert sorted(c["metadata"]["name"] for c in cronjobs) == [
        "debit-orders-export",
        "debit-orders-import",
        "wallet-expire",
    ]
    for cronjob in cronjobs:
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
        assert cronjob["spec"]["timeZone"]
        assert cronjob["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0
    (job,) = of_kind(resources, "Job")
    assert job["metadata"]["name"] == "migrate"
    assert job["spec"]["activeDeadlineSeconds"] > 0
    (container,) = containers(job)
    assert container["args"] == ["migrate"]
    passwords = {n for n in env_of(container) if n.endswith("_DB_PASSWORD")}
    assert passwords == {env_prefix(s) + "DB_PASSWORD" for s in SERVICES}
    admin_url = env_of(container)["LOYALTY_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert admin_url == {"name": "loyalty-db-admin", "key": "database-url"}


def _parses(parser: argparse.ArgumentParser, argv: list[str]) -> bool:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
        parser.parse_args(argv)
        return True
    return False


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_every_command_is_one_the_loyalty_command_accepts(build: str):
    parser = build_parser()
    known = {action.dest: action for action in parser._actions}["command"].choices
    assert known is not None
    for workload in workloads(rendered(build)):
        for container in containers(workload):
            argv = container["args"]
            if argv[0] in PENDING_COMMANDS and argv[0] not in known:
                continue  # scheduled ahead of the command; checked once it exists
            assert _parses(parser, argv), f"`loyalty {' '.join(argv)}` is not a valid command"


# ---- configuration and secrets ----


def known_settings() -> set[str]:
    names = {f"LOYALTY_{field.upper()}" for field in PlatformSettings.model_fields}
    names |= {f"LOYALTY_KAFKA_{field.upper()}" for field in KafkaSecurity.model_fields}
    names |= {
        env_prefix(service) + field.upper()
        for service in SERVICES
        for field in ServiceSettings.model_fields
    }
    return names


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_every_loyalty_variable_is_a_real_setting(build: str):
    resources = rendered(build)
    used = {key for c in of_kind(resources, "ConfigMap") for key in c["data"]}
    used |= {name for w in workloads(resources) for c in containers(w) for name in env_of(c)}
    assert used <= known_settings(), used - known_settings()


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_no_secret_is_written_in_the_manifests(build: str):
    resources = rendered(build)
    assert not of_kind(resources, "Secret")
    for config in of_kind(resources, "ConfigMap"):
        for key, value in config["data"].items():
            assert not any(word in key.upper() for word in SECRET_WORDS), key
            assert not CREDENTIALS_IN_URL.search(str(value)), key
    for workload in workloads(resources):
        for container in containers(workload):
            for name, entry in env_of(container).items():
                if (
                    any(word in name.upper() for word in SECRET_WORDS)
                    or name == "LOYALTY_DATABASE_URL"
                ):
                    assert "value" not in entry, name
                    assert "secretKeyRef" in entry["valueFrom"], name
                else:
                    assert not CREDENTIALS_IN_URL.search(str(entry.get("value", ""))), name


def secret_references(resources: list[dict[str, Any]]) -> set[tuple[str, str]]:
    references = set()
    for workload in workloads(resources):
        spec = pod_template(workload)["spec"]
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                for item in volume["secret"].get("items", [{"key": "*"}]):
                    references.add((volume["secret"]["secretName"], item["key"]))
        for container in containers(workload):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    references.add((ref["name"], ref["key"]))
    return references


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_every_secret_a_pod_needs_is_documented_and_every_config_map_exists(build: str):
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    for name, key in secret_references(rendered(build)):
        assert f"`{name}`" in readme, name
        assert f"`{key}`" in readme, (name, key)
    configs = {c["metadata"]["name"] for c in of_kind(rendered(build), "ConfigMap")}
    for workload in workloads(rendered(build)):
        for container in containers(workload):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in configs


@pytest.mark.parametrize("build", ALL_BUILDS)
def test_the_configuration_is_one_the_settings_accept(build: str, monkeypatch: pytest.MonkeyPatch):
    (config,) = of_kind(rendered(build), "ConfigMap")
    for key, value in config["data"].items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("LOYALTY_KAFKA_SASL_PASSWORD", "from-a-secret")
    platform = PlatformSettings()
    assert platform.mode.value == "external"
    assert platform.kafka_bootstrap
    KafkaSecurity()  # raises on an unknown protocol or mechanism


# ---- production ----


def test_production_talks_to_kafka_over_tls_with_scram():
    resources = rendered("prod")
    (config,) = of_kind(resources, "ConfigMap")
    data = config["data"]
    assert data["LOYALTY_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert data["LOYALTY_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert data["LOYALTY_KAFKA_SASL_USERNAME"]
    cafile = PurePosixPath(data["LOYALTY_KAFKA_SSL_CAFILE"])
    for workload in workloads(resources):
        spec = pod_template(workload)["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in containers(workload):
            password = env_of(container)["LOYALTY_KAFKA_SASL_PASSWORD"]
            assert password["valueFrom"]["secretKeyRef"]["name"] == "loyalty-kafka-user"
            (mount,) = [
                m for m in container["volumeMounts"] if m["mountPath"] == str(cafile.parent)
            ]
            assert mount["readOnly"] is True
            items = volumes[mount["name"]]["secret"]["items"]
            assert cafile.name in {item["path"] for item in items}


def test_production_runs_more_replicas_spread_out_with_more_room():
    base, prod = rendered("base"), rendered("prod")
    for autoscaler in of_kind(prod, "HorizontalPodAutoscaler"):
        name = autoscaler["metadata"]["name"]
        assert autoscaler["spec"]["minReplicas"] >= 3
        before = named(base, "HorizontalPodAutoscaler", name)["spec"]
        assert autoscaler["spec"]["maxReplicas"] > before["maxReplicas"]
    for deployment in of_kind(prod, "Deployment"):
        spec = pod_template(deployment)["spec"]
        keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        labels = pod_template(deployment)["metadata"]["labels"]
        for constraint in spec["topologySpreadConstraints"]:
            assert selects(constraint["labelSelector"], labels)
            assert constraint["matchLabelKeys"] == ["app.kubernetes.io/name"]
        (container,) = containers(deployment)
        (before,) = containers(named(base, "Deployment", deployment["metadata"]["name"]))
        for resource in ("cpu", "memory"):
            assert (
                container["resources"]["limits"][resource]
                != before["resources"]["limits"][resource]
            )
        assert memory_mi(container["resources"]["limits"]["memory"]) > memory_mi(
            before["resources"]["limits"]["memory"]
        )
