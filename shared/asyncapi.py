"""AsyncAPI 3.0 documents generated from each service: what it consumes (its subscriptions)
and what it publishes (the registry's producers), with the contracts' JSON Schemas."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from contracts.registry import TOPICS, topics_produced_by
from contracts.tools import ROOT, dumps, schema_for
from shared.runtime import ServiceDefinition
from shared.settings import SERVICES

ASYNCAPI_DIR = ROOT / "asyncapi"


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_").replace("-", "_")


def asyncapi_document(service: str) -> dict[str, Any]:
    definition: ServiceDefinition = importlib.import_module(f"services.{service}.app").definition()
    receives = [s.topic for s in definition.subscriptions]
    sends = topics_produced_by(service)
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for action, topics in (("receive", receives), ("send", sends)):
        for topic in topics:
            descriptor = TOPICS[topic]
            cid = _channel_id(topic)
            name = descriptor.latest.__name__
            messages[name] = {
                "name": name,
                "title": name,
                "summary": descriptor.description,
                "contentType": "application/json",
                "payload": schema_for(topic),
                "bindings": {"kafka": {"key": {"type": "string", "description": descriptor.key}}},
            }
            channels[cid] = {
                "address": topic,
                "description": descriptor.description,
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
                "bindings": {"kafka": {"topic": topic, "partitions": descriptor.partitions}},
            }
            operations[f"{action}_{cid}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{cid}"},
                "summary": f"{service} {action}s {topic}",
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"loyalty {service}",
            "version": "1.0.0",
            "description": (definition.__class__.__doc__ or "").strip() or service,
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "variables": {"bootstrap": {"description": "LOYALTY_KAFKA_BOOTSTRAP"}},
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _files() -> dict[Path, str]:
    return {
        ASYNCAPI_DIR / f"{service}.json": dumps(asyncapi_document(service)) for service in SERVICES
    }


def write_asyncapi() -> list[Path]:
    written = []
    for path, content in _files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
            written.append(path)
    return written


def check_asyncapi() -> list[str]:
    return [
        f"{path.relative_to(ROOT)}: differs from the service (run `loyalty contracts gen`)"
        for path, content in _files().items()
        if not path.exists() or path.read_text() != content
    ]
