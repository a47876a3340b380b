"""docker-compose.yml: valid Compose, complete, healthy, and wired like the settings expect."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

from shared.cli import build_parser
from shared.infra.containers import KAFKA_IMAGE, POSTGRES_IMAGE
from shared.settings import SERVICES, KafkaSecurity, PlatformSettings, ServiceSettings
from shared.up import platform_processes
from tests.unit.deploy.manifests import HTTP_PORT, ROOT

ONE_SHOT = {"migrate", "simulator"}
# The platform's processes, as `loyalty up` runs them: each a Compose service of its own.
PROCESSES = {p.name: p for p in platform_processes()}
APP_IMAGE_USER = "10001:10001"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def compose_name(service: str) -> str:
    return service.replace("_", "-")


def app_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Ours: the services built from this repository's image."""
    return {name: s for name, s in services.items() if "build" in s}


def test_the_file_is_valid_against_the_compose_specification(compose: dict[str, Any]):
    # The Compose Specification's JSON schema, as vendored by check-jsonschema (no network).
    text = (
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text(encoding="utf-8")
    )
    schema = json.loads(text)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors
    broken = {**compose, "services": {**compose["services"], "kafka": {"imag": "x"}}}
    assert list(validator.iter_errors(broken)), "the schema must catch a misspelt key"


def test_dependencies_name_only_defined_services_with_a_condition(services: dict[str, Any]):
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            assert dependency != name
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert rule["condition"] == expected, (name, dependency)


def test_every_service_restarts_by_policy_and_long_running_ones_report_health(
    services: dict[str, Any],
):
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
        else:
            assert service["restart"] == "unless-stopped", name
            assert service["healthcheck"]["test"], name


def test_kafka_is_apache_kafka_in_kraft_mode_as_in_the_containers_mode(services: dict[str, Any]):
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["image"] == KAFKA_IMAGE
    assert services["postgres"]["image"] == POSTGRES_IMAGE
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not [key for key in env if "ZOOKEEPER" in key]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")


def test_migrate_runs_migrations_then_creates_the_topics_once_infrastructure_is_healthy(
    services: dict[str, Any],
):
    migrate = services["migrate"]
    assert migrate["entrypoint"] == ["/bin/sh", "-c"]
    assert migrate["command"] == ["loyalty migrate && loyalty topics create"]
    assert set(migrate["depends_on"]) == {"kafka", "postgres"}
    env = migrate["environment"]
    assert {f"LOYALTY_{s.upper()}_DB_PASSWORD" for s in SERVICES} <= set(env)
    assert "@postgres:5432/" in env["LOYALTY_DATABASE_URL"]


@pytest.mark.parametrize("name", PROCESSES)
def test_each_process_runs_after_migrate_and_is_healthy_when_ready(
    services: dict[str, Any], name: str
):
    process = PROCESSES[name]
    service = process.service
    compose_service = services[compose_name(name)]
    assert compose_service["command"] == process.command()
    assert compose_service["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    env = compose_service["environment"]
    prefix = f"LOYALTY_{service.upper()}_"
    assert env[prefix + "HTTP_HOST"] == "0.0.0.0"  # noqa: S104
    assert int(env[prefix + "HTTP_PORT"]) == HTTP_PORT
    probe = " ".join(compose_service["healthcheck"]["test"])
    assert f"http://127.0.0.1:{HTTP_PORT}/readyz" in probe
    passwords = {name for name in env if name.endswith("_DB_PASSWORD")}
    assert passwords == {prefix + "DB_PASSWORD"}
    assert env["LOYALTY_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["LOYALTY_INFRA_MODE"] == "external"


def test_our_containers_are_as_locked_down_as_on_kubernetes(services: dict[str, Any]):
    ours = app_services(services)
    assert set(ours) == {compose_name(p) for p in PROCESSES} | ONE_SHOT
    for name, service in ours.items():
        assert service["user"] == APP_IMAGE_USER, name
        assert service["read_only"] is True, name
        assert service["tmpfs"] == ["/tmp"], name  # noqa: S108
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name


def test_the_simulator_is_optional(services: dict[str, Any]):
    assert services["simulator"]["profiles"] == ["sim"]
    assert all("profiles" not in s for name, s in services.items() if name != "simulator")


def known_settings() -> set[str]:
    names = {f"LOYALTY_{field.upper()}" for field in PlatformSettings.model_fields}
    names |= {f"LOYALTY_KAFKA_{field.upper()}" for field in KafkaSecurity.model_fields}
    names |= {
        f"LOYALTY_{s.upper()}_{field.upper()}"
        for s in SERVICES
        for field in ServiceSettings.model_fields
    }
    return names


def test_every_loyalty_variable_is_a_real_setting(services: dict[str, Any]):
    for name, service in app_services(services).items():
        unknown = set(service.get("environment", {})) - known_settings()
        assert not unknown, (name, unknown)


def _parses(parser: argparse.ArgumentParser, argv: list[str]) -> bool:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
        parser.parse_args(argv)
        return True
    return False


def test_every_command_is_one_the_loyalty_command_accepts(services: dict[str, Any]):
    parser = build_parser()
    commands = {action.dest: action for action in parser._actions}["command"].choices
    assert commands is not None
    for name, service in app_services(services).items():
        if "entrypoint" in service:  # `sh -c "loyalty a && loyalty b"`
            argvs = [part.split()[1:] for part in service["command"][0].split("&&")]
        else:
            argvs = [service["command"]]
        for argv in argvs:
            assert _parses(parser, argv), f"{name}: `loyalty {' '.join(argv)}` is not valid"
