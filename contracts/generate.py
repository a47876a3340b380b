"""Documents generated from the registry and the models: a JSON Schema per topic, an AsyncAPI
3.0 document per service, and the topic catalogue. Pure functions: no files are touched."""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from contracts.registry import SERVICE_ROLES, SERVICES, TOPICS, TopicDescriptor, descriptor

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
# Headers our consumers add to a dead letter (shared/messaging/consumer.py writes them).
DEAD_LETTER_HEADERS: dict[str, str] = {
    "dlq.source_topic": "The topic the record was read from.",
    "dlq.source_partition": "Its partition.",
    "dlq.source_offset": "Its offset.",
    "dlq.reason": "Why it could not be processed (invalid JSON, schema violation, ...).",
    "dlq.service": "The consuming service that gave up on it.",
    "dlq.failed_at": "When (RFC 3339).",
}


def dumps(document: dict[str, Any]) -> str:
    """The committed form of a generated JSON document: sorted keys, indent 2, newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_for(topic: str, version: int | None = None) -> dict[str, Any]:
    """The JSON Schema (validation mode) of a topic's message, latest version by default."""
    described = descriptor(topic)
    version = described.latest_version if version is None else version
    schema = described.versions[version].model_json_schema(mode="validation")
    schema["$id"] = f"urn:loyalty:contracts:{topic}"
    schema["x-topic"] = {
        "name": topic,
        "version": version,
        "key": described.key,
        "compatibility": described.compatibility,
    }
    return schema


def generate_schemas() -> dict[str, dict[str, Any]]:
    """Topic name -> JSON Schema of its latest version, for every topic of the registry."""
    return {topic: schema_for(topic) for topic in TOPICS}


def channel_id(topic: str) -> str:
    return topic.replace(".", "_").replace("-", "_")


def asyncapi_document(service: str) -> dict[str, Any]:
    """AsyncAPI 3.0 for one service: `receive` for each topic it consumes, `send` for each it
    produces and for the dead-letter topic of each it consumes."""
    if service not in SERVICES:
        raise KeyError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    receives = [TOPICS[t] for t in TOPICS if service in TOPICS[t].consumers]
    sends = [TOPICS[t] for t in TOPICS if service in TOPICS[t].producers]
    models = sorted({t.latest for t in (*receives, *sends)}, key=lambda m: m.__name__)
    refs, definitions = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = definitions.get("$defs", {})
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for action, topics in (("receive", receives), ("send", sends)):
        for topic in topics:
            name = topic.latest.__name__
            messages[name] = {
                "name": name,
                "title": name,
                "summary": topic.description,
                "contentType": "application/json",
                "payload": refs[(topic.latest, "validation")],
                "bindings": {"kafka": _key_binding(topic.key)},
            }
            _add_operation(channels, operations, topic.name, topic, name, action, service)
    if receives:
        messages["DeadLetter"] = _dead_letter_message()
        for topic in receives:
            _add_operation(channels, operations, topic.dlq, topic, "DeadLetter", "send", service)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": f"loyalty {service}",
            "version": "1.0.0",
            "description": SERVICE_ROLES[service],
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
        "components": {"messages": messages, "schemas": schemas},
    }


def _add_operation(
    channels: dict[str, Any], operations: dict[str, Any], address: str, topic: TopicDescriptor,
    message: str, action: str, service: str,
) -> None:  # fmt: skip
    cid = channel_id(address)
    dead_letters = address != topic.name
    channels[cid] = {
        "address": address,
        "description": (
            f"Dead letters of {topic.name}, with the reason." if dead_letters else topic.description
        ),
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
        "bindings": {
            "kafka": {
                "topic": address,
                "partitions": topic.partitions,
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    operations[f"{action}_{cid}"] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{cid}"},
        "messages": [{"$ref": f"#/channels/{cid}/messages/{message}"}],
        "summary": f"{service} {action}s {address}",
    }


def _key_binding(key: str) -> dict[str, Any]:
    return {
        "key": {"type": "string", "description": f"The record key: {key}, UTF-8."},
        "bindingVersion": KAFKA_BINDING_VERSION,
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": "DeadLetter",
        "title": "DeadLetter",
        "summary": "A record that could not be processed: its original key and bytes, "
        "unchanged (possibly not even JSON), and the reason in the headers.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {
                header: {"type": "string", "description": text}
                for header, text in DEAD_LETTER_HEADERS.items()
            },
            "required": sorted(DEAD_LETTER_HEADERS),
        },
        "payload": {"description": "The original record value, byte for byte."},
    }


def generate_asyncapi() -> dict[str, dict[str, Any]]:
    """Service name -> its AsyncAPI document, for every service."""
    return {service: asyncapi_document(service) for service in SERVICES}


def topic_catalogue_markdown() -> str:
    """The topic catalogue as a markdown table (the README's "Topic catalogue")."""
    lines = [
        "| topic | key | partitions | producers | consumers | description |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| `{t.name}` | {t.key} | {t.partitions} | {', '.join(t.producers)} | "
        f"{', '.join(t.consumers)} | {t.description} |"
        for t in TOPICS.values()
    ]
    lines.append("")
    lines.append("Every topic `T` has a dead-letter topic `T.dlq` with the same partitions.")
    return "\n".join(lines)
