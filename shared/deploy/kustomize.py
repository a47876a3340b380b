"""A small, strict kustomize: enough of it to render k8s/ offline and test what it produces.

Supported kustomization fields: `resources` (files and directories), `namespace`, `patches`
(strategic merge or JSON 6902, inline or by path, with or without a target) and `images`.
Anything else is an error rather than silently ignored, so an overlay can only use what this
renderer understands. Where kubectl is installed, the tests compare this renderer's output with
`kubectl kustomize` to keep the two in step.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED_FIELDS = frozenset({"apiVersion", "kind", "resources", "namespace", "patches", "images"})

# Kinds that kustomize's namespace transformer leaves alone (cluster-scoped).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "PriorityClass",
        "StorageClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
)

# Strategic-merge keys of the associative lists we patch (from the Kubernetes OpenAPI
# x-kubernetes-patch-merge-key); any other list is replaced as a whole, as kustomize does.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",  # pragma: allowlist secret
    "topologySpreadConstraints": "topologyKey",
}

# Where container lists live in the workloads we render (the images transformer's paths).
POD_SPEC_PATHS = (
    ("spec",),
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
)


class KustomizeError(Exception):
    """The kustomization uses something this renderer does not support, or is wrong."""


def render(directory: Path) -> list[Resource]:
    """Build a kustomization directory into its list of resources."""
    directory = directory.resolve()
    kustomization = _load_kustomization(directory)
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise KustomizeError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")

    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        resources.extend(_load_resource(directory, str(entry)))
    _check_unique(resources, directory)

    for patch in kustomization.get("patches", []):
        _apply_patch(resources, _read_patch(directory, patch), patch.get("target"))

    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource.get("kind") not in CLUSTER_SCOPED:
                resource.setdefault("metadata", {})["namespace"] = namespace

    for image in kustomization.get("images", []):
        _set_image(resources, image, directory)
    return resources


def resource_id(resource: Resource) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name): a resource's identity in a build."""
    meta = resource.get("metadata", {})
    return (
        str(resource.get("apiVersion", "")),
        str(resource.get("kind", "")),
        str(meta.get("namespace", "")),
        str(meta.get("name", "")),
    )


def load_documents(text: str) -> list[Resource]:
    """The non-empty YAML documents of a manifest file."""
    documents: list[Resource] = []
    for document in yaml.safe_load_all(text):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise KustomizeError(f"a manifest document is not a mapping: {document!r}")
        documents.append(document)
    return documents


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    """Merge `patch` into `target` the way a strategic merge patch does (the subset we use)."""
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = dict(target)
        for key, value in patch.items():
            if key.startswith("$"):
                raise KustomizeError(f"patch directive {key} is not supported")
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    merge_key = MERGE_KEYS.get(field)
    if merge_key and isinstance(target, list) and isinstance(patch, list):
        return _merge_list(target, patch, merge_key)
    return copy.deepcopy(patch)


def _merge_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    # kustomize puts the patch's items first (merged with their originals), then the rest.
    originals = {item[key]: item for item in target if isinstance(item, dict) and key in item}
    merged = []
    for item in patch:
        if not (isinstance(item, dict) and key in item):
            raise KustomizeError(f"list item without merge key {key!r}: {item!r}")
        original = originals.get(item[key])
        merged.append(strategic_merge(original, item) if original is not None else item)
    patched = {item[key] for item in patch}
    merged.extend(
        item for item in target if not (isinstance(item, dict) and item.get(key) in patched)
    )
    return copy.deepcopy(merged)


def apply_json_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """Apply RFC 6902 operations (add, remove, replace, test, copy, move)."""
    for operation in operations:
        op, path = operation.get("op"), str(operation.get("path", ""))
        if op == "add":
            document = _pointer_set(document, path, copy.deepcopy(operation["value"]), insert=True)
        elif op == "replace":
            _pointer_get(document, path)
            document = _pointer_set(document, path, copy.deepcopy(operation["value"]), insert=False)
        elif op == "remove":
            document = _pointer_remove(document, path)
        elif op == "test":
            if _pointer_get(document, path) != operation["value"]:
                raise KustomizeError(f"json patch test failed at {path}")
        elif op in {"copy", "move"}:
            source = str(operation["from"])
            value = copy.deepcopy(_pointer_get(document, source))
            if op == "move":
                document = _pointer_remove(document, source)
            document = _pointer_set(document, path, value, insert=True)
        else:
            raise KustomizeError(f"unknown json patch operation {op!r}")
    return document


@dataclass(frozen=True)
class _Patch:
    body: Any
    source: str


def _load_kustomization(directory: Path) -> dict[str, Any]:
    for name in KUSTOMIZATION_FILES:
        path = directory / name
        if path.is_file():
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise KustomizeError(f"{path} is not a mapping")
            return loaded
    raise KustomizeError(f"no kustomization file in {directory}")


def _load_resource(directory: Path, entry: str) -> list[Resource]:
    if "://" in entry or entry.startswith("git@"):
        raise KustomizeError(f"remote resources are not supported: {entry}")
    path = (directory / entry).resolve()
    if path.is_dir():
        return render(path)
    if path.is_file():
        return load_documents(path.read_text(encoding="utf-8"))
    raise KustomizeError(f"{directory}: resource {entry} does not exist")


def _check_unique(resources: Iterable[Resource], directory: Path) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for resource in resources:
        key = resource_id(resource)
        if key in seen:
            raise KustomizeError(f"{directory}: duplicate resource {key}")
        seen.add(key)


def _read_patch(directory: Path, patch: dict[str, Any]) -> _Patch:
    if "path" in patch:
        path = directory / str(patch["path"])
        return _Patch(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    if "patch" in patch:
        return _Patch(yaml.safe_load(str(patch["patch"])), f"{directory} (inline patch)")
    raise KustomizeError(f"{directory}: a patch needs `path` or `patch`")


def _apply_patch(resources: list[Resource], patch: _Patch, target: dict[str, Any] | None) -> None:
    if isinstance(patch.body, list):
        if target is None:
            raise KustomizeError(f"{patch.source}: a JSON 6902 patch needs a target")
        for index in _matching(resources, target, patch.source):
            resources[index] = apply_json_patch(resources[index], patch.body)
        return
    if not isinstance(patch.body, dict):
        raise KustomizeError(f"{patch.source}: a patch is a list of operations or a mapping")
    if target is None:
        meta = patch.body.get("metadata", {})
        # Without a target, the patch names the one resource it patches (exactly, no regex).
        target = {
            field: re.escape(str(value))
            for field, value in (
                ("kind", patch.body.get("kind")),
                ("name", meta.get("name")),
                ("namespace", meta.get("namespace")),
            )
            if value is not None
        }
    body = copy.deepcopy(patch.body)
    meta = body.get("metadata", {})
    for field in ("name", "namespace"):  # the target decides which resources, not the patch
        meta.pop(field, None)
    body.pop("apiVersion", None)
    body.pop("kind", None)
    for index in _matching(resources, target, patch.source):
        resources[index] = strategic_merge(resources[index], body)


def _matching(resources: list[Resource], target: dict[str, Any], source: str) -> list[int]:
    """Indexes of the resources a patch target selects; none is an error (kustomize says
    nothing, but in our overlays a patch that patches nothing is a mistake)."""
    unknown = set(target) - {"group", "version", "kind", "name", "namespace", "labelSelector"}
    if unknown:
        raise KustomizeError(f"unsupported patch target fields {sorted(unknown)}")
    matched = [i for i, resource in enumerate(resources) if _selects(target, resource)]
    if not matched:
        raise KustomizeError(f"{source}: patch target {target} matches no resource")
    return matched


def _selects(target: dict[str, Any], resource: Resource) -> bool:
    api_version = str(resource.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    meta = resource.get("metadata", {})
    checks = {
        "group": group,
        "version": version,
        "kind": resource.get("kind", ""),
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace", ""),
    }
    for field, actual in checks.items():
        wanted = target.get(field)
        if wanted is not None and not re.fullmatch(str(wanted), str(actual)):
            return False
    selector = target.get("labelSelector")
    if selector:
        labels = meta.get("labels", {})
        for requirement in str(selector).split(","):
            key, _, value = requirement.partition("=")
            if labels.get(key.strip()) != value.strip():
                return False
    return True


def _containers(resource: Resource) -> Iterator[dict[str, Any]]:
    for path in POD_SPEC_PATHS:
        node: Any = resource
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        for field in ("initContainers", "containers"):
            yield from node.get(field, [])


def _set_image(resources: list[Resource], image: dict[str, Any], directory: Path) -> None:
    name = image.get("name")
    if not name:
        raise KustomizeError(f"{directory}: an images entry needs a name")
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise KustomizeError(f"{directory}: unsupported images fields {sorted(unknown)}")
    for resource in resources:
        for container in _containers(resource):
            current = str(container.get("image", ""))
            base, tag, digest = _split_image(current)
            if base != name:
                continue
            base = str(image.get("newName", base))
            if "digest" in image:
                container["image"] = f"{base}@{image['digest']}"
            elif "newTag" in image:
                container["image"] = f"{base}:{image['newTag']}"
            else:
                container["image"] = base + (f"@{digest}" if digest else f":{tag}" if tag else "")


def _split_image(image: str) -> tuple[str, str, str]:
    """name, tag, digest of an image reference (a registry port is not a tag)."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest
    return name, "", digest


def _pointer_tokens(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise KustomizeError(f"bad JSON pointer {path!r}")
    return [token.replace("~1", "/").replace("~0", "~") for token in path[1:].split("/")]


def _walk(document: Any, tokens: list[str]) -> Any:
    node = document
    for token in tokens:
        if isinstance(node, list):
            node = node[_index(node, token, allow_end=False)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise KustomizeError(f"JSON pointer /{'/'.join(tokens)} does not exist")
    return node


def _index(node: list[Any], token: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:  # noqa: S105  (a JSON pointer, not a password)
        return len(node)
    if not token.isdigit():
        raise KustomizeError(f"bad list index {token!r}")
    index = int(token)
    if index > len(node) or (index == len(node) and not allow_end):
        raise KustomizeError(f"list index {index} out of range")
    return index


def _pointer_get(document: Any, path: str) -> Any:
    return _walk(document, _pointer_tokens(path))


def _pointer_set(document: Any, path: str, value: Any, *, insert: bool) -> Any:
    tokens = _pointer_tokens(path)
    if not tokens:
        return value
    parent = _walk(document, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, list):
        index = _index(parent, last, allow_end=insert)
        if insert:
            parent.insert(index, value)
        else:
            parent[index] = value
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise KustomizeError(f"JSON pointer {path} does not point into a container")
    return document


def _pointer_remove(document: Any, path: str) -> Any:
    tokens = _pointer_tokens(path)
    if not tokens:
        raise KustomizeError("cannot remove the whole document")
    parent = _walk(document, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, list):
        del parent[_index(parent, last, allow_end=False)]
    elif isinstance(parent, dict) and last in parent:
        del parent[last]
    else:
        raise KustomizeError(f"JSON pointer {path} does not exist")
    return document
