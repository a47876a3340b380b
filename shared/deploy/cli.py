"""`loyalty k8s ...`: Kubernetes manifests that are generated from the code."""

from __future__ import annotations

import argparse
from typing import Any

from shared.cli_args import number
from shared.deploy.topics import DEFAULT_CLUSTER, DEFAULT_REPLICAS, render_topics


def _topics(args: argparse.Namespace) -> int:
    print(
        render_topics(cluster=args.cluster, namespace=args.namespace, replicas=args.replicas),
        end="",
    )
    return 0


_positive = number(int, lambda v: v >= 1, "at least 1")


def register(subparsers: Any) -> None:
    """Add `loyalty k8s topics` to the `loyalty` command."""
    k8s = subparsers.add_parser("k8s", help="Kubernetes manifests generated from the code")
    actions = k8s.add_subparsers(dest="k8s_command", required=True, metavar="ACTION")
    topics = actions.add_parser(
        "topics",
        help="Strimzi KafkaTopic YAML for every registry topic and its dead-letter topic",
        description="Prints the KafkaTopic resources; k8s/base/topics.yaml is this output.",
    )
    topics.add_argument("--namespace", help="metadata.namespace (default: none, set by kustomize)")
    topics.add_argument(
        "--cluster",
        default=DEFAULT_CLUSTER,
        help=f"the Strimzi Kafka cluster, label strimzi.io/cluster (default {DEFAULT_CLUSTER})",
    )
    topics.add_argument(
        "--replicas",
        type=_positive,
        default=DEFAULT_REPLICAS,
        help=f"replication factor (default {DEFAULT_REPLICAS}); min.insync.replicas follows",
    )
    topics.set_defaults(func=_topics)
