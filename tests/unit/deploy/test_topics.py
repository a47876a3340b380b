"""Strimzi topics come from the registry, and k8s/base/topics.yaml never drifts from it."""

from __future__ import annotations

import argparse
import contextlib
import io

import jsonschema
import pytest
import yaml

from contracts.registry import TOPICS
from shared import cli
from shared.deploy import cli as deploy_cli
from shared.deploy.topics import kafka_topics, render_topics, resource_name
from tests.unit.deploy.manifests import BASE, of_kind, rendered

# The part of Strimzi's KafkaTopic v1beta2 schema that we fill in.
KAFKA_TOPIC_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1beta2"},
        "kind": {"const": "KafkaTopic"},
        "metadata": {
            "type": "object",
            "required": ["name", "labels"],
            "properties": {
                "labels": {
                    "type": "object",
                    "required": ["strimzi.io/cluster"],
                    "additionalProperties": {"type": "string"},
                },
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["topicName", "partitions", "replicas"],
            "properties": {
                "topicName": {"type": "string", "pattern": r"^[a-zA-Z0-9._-]{1,249}$"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object"},
            },
        },
    },
}


def run_cli(*argv: str) -> str:
    parser = argparse.ArgumentParser(prog="loyalty")
    deploy_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert args.func(args) == 0
    return out.getvalue()


def test_the_committed_topics_are_exactly_what_the_registry_generates():
    committed = (BASE / "topics.yaml").read_text(encoding="utf-8")
    assert committed == render_topics(), (
        "k8s/base/topics.yaml has drifted from contracts/registry.py; regenerate it with "
        "`loyalty k8s topics > k8s/base/topics.yaml`"
    )


def test_the_command_prints_the_committed_file():
    assert run_cli("k8s", "topics") == (BASE / "topics.yaml").read_text(encoding="utf-8")


def test_the_command_takes_a_namespace_a_cluster_and_a_replication_factor():
    topics = list(
        yaml.safe_load_all(
            run_cli(
                "k8s",
                "topics",
                "--namespace",
                "kafka",
                "--cluster",
                "prod-kafka",
                "--replicas",
                "1",
            )
        )
    )
    assert topics
    for topic in topics:
        assert topic["metadata"]["namespace"] == "kafka"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "prod-kafka"
        assert topic["spec"]["replicas"] == 1
        assert topic["spec"]["config"]["min.insync.replicas"] == 1


def test_the_loyalty_command_has_the_k8s_plugin():
    assert "shared.deploy.cli" in cli.PLUGINS
    parser = cli.build_parser()
    args = parser.parse_args(["k8s", "topics"])
    assert args.func.__module__ == "shared.deploy.cli"


def test_every_registry_topic_and_its_dead_letter_topic_exists_with_its_partitions():
    generated = {t["spec"]["topicName"]: t for t in kafka_topics()}
    expected = {}
    for descriptor in TOPICS.values():
        expected[descriptor.name] = descriptor.partitions
        expected[descriptor.dlq] = descriptor.partitions
    assert {name: t["spec"]["partitions"] for name, t in generated.items()} == expected
    for descriptor in TOPICS.values():
        assert descriptor.dlq == descriptor.name + ".dlq"
        dead = generated[descriptor.dlq]["metadata"]
        assert dead["labels"]["loyalty.bank/dead-letter"] == "true"
        assert (
            generated[descriptor.name]["metadata"]["labels"]["loyalty.bank/dead-letter"] == "false"
        )


def test_each_topic_is_a_valid_kafka_topic_with_a_unique_kubernetes_name():
    topics = kafka_topics()
    for topic in topics:
        jsonschema.validate(topic, KAFKA_TOPIC_SCHEMA)
        config = topic["spec"]["config"]
        assert 1 <= config["min.insync.replicas"] < topic["spec"]["replicas"]
    names = [t["metadata"]["name"] for t in topics]
    assert len(set(names)) == len(names)


def test_a_topic_name_kubernetes_cannot_hold_is_renamed_but_keeps_its_topic_name():
    assert resource_name("esb.card.transaction.v1") == "esb.card.transaction.v1"
    assert resource_name("Loyalty_Points.v1") == "loyalty-points.v1"
    with pytest.raises(ValueError, match="no valid Kubernetes name"):
        resource_name("___")


@pytest.mark.parametrize("build", ["base", "dev", "prod"])
def test_every_build_carries_every_topic(build: str):
    names = {t["spec"]["topicName"] for t in of_kind(rendered(build), "KafkaTopic")}
    assert names == {t["spec"]["topicName"] for t in kafka_topics()}


def test_the_dev_overlay_topics_are_the_single_broker_generation():
    dev = {t["spec"]["topicName"]: t for t in of_kind(rendered("dev"), "KafkaTopic")}
    for topic in kafka_topics(namespace="loyalty-dev", replicas=1):
        assert dev[topic["spec"]["topicName"]] == topic
