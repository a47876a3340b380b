"""The offline kustomize renderer does what kustomize does, for the features k8s/ uses."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from shared.deploy.kustomize import (
    KustomizeError,
    apply_json_patch,
    render,
    resource_id,
    strategic_merge,
)
from tests.unit.deploy.manifests import BUILDS

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: loyalty
          image: loyalty:0.1.0
          env:
            - {{name: A, value: "1"}}
            - {{name: B, value: "2"}}
          volumeMounts:
            - {{name: tmp, mountPath: /tmp}}
      volumes:
        - {{name: tmp, emptyDir: {{}}}}
"""


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [deployments.yaml, config.yaml]\n",
            "base/deployments.yaml": DEPLOYMENT.format(name="a")
            + "---\n"
            + DEPLOYMENT.format(name="b"),
            "base/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
            "data: {K: v}\n",
        },
    )


def test_an_overlay_sets_the_namespace_except_on_cluster_scoped_resources(project: Path):
    write(
        project,
        {
            "overlay/kustomization.yaml": "namespace: shop\nresources: [ns.yaml, ../base]\n",
            "overlay/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
        },
    )
    resources = render(project / "overlay")
    assert {resource_id(r) for r in resources} == {
        ("v1", "Namespace", "", "shop"),
        ("apps/v1", "Deployment", "shop", "a"),
        ("apps/v1", "Deployment", "shop", "b"),
        ("v1", "ConfigMap", "shop", "c"),
    }


def test_a_targeted_strategic_merge_patch_merges_containers_env_and_volumes_by_key(
    project: Path,
):
    write(
        project,
        {
            "overlay/kustomization.yaml": """\
                resources: [../base]
                patches:
                  - path: sasl.yaml
                    target: {kind: Deployment}
            """,
            "overlay/sasl.yaml": """\
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: any}
                spec:
                  template:
                    spec:
                      containers:
                        - name: loyalty
                          env:
                            - {name: C, value: "3"}
                            - {name: A, value: "9"}
                          volumeMounts:
                            - {name: ca, mountPath: /etc/ca}
                      volumes:
                        - {name: ca, secret: {secretName: s}}
            """,
        },
    )
    for deployment in render(project / "overlay")[:2]:
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        # kustomize's order: the patch's items first (merged), then the untouched ones.
        assert container["env"] == [
            {"name": "C", "value": "3"},
            {"name": "A", "value": "9"},
            {"name": "B", "value": "2"},
        ]
        assert [m["mountPath"] for m in container["volumeMounts"]] == ["/etc/ca", "/tmp"]  # noqa: S108
        assert [v["name"] for v in spec["volumes"]] == ["ca", "tmp"]
        assert container["image"] == "loyalty:0.1.0"


def test_an_untargeted_patch_applies_to_the_resource_it_names_only(project: Path):
    write(
        project,
        {
            "overlay/kustomization.yaml": """\
                resources: [../base]
                patches:
                  - patch: |-
                      apiVersion: apps/v1
                      kind: Deployment
                      metadata: {name: b}
                      spec: {replicas: 3}
            """,
        },
    )
    a, b, _ = render(project / "overlay")
    assert "replicas" not in a["spec"]
    assert b["spec"]["replicas"] == 3


def test_json6902_patches_and_images(project: Path):
    write(
        project,
        {
            "overlay/kustomization.yaml": """\
                resources: [../base]
                images:
                  - {name: loyalty, newName: registry.example.com/loyalty, newTag: "1.2.3"}
                patches:
                  - target: {kind: ConfigMap, name: c}
                    patch: |-
                      - {op: add, path: /data/L, value: w}
                      - {op: replace, path: /data/K, value: x}
                  - target: {kind: Deployment, name: a}
                    patch: |-
                      - {op: remove, path: /spec/template/spec/containers/0/env/0}
            """,
        },
    )
    a, b, config = render(project / "overlay")
    assert config["data"] == {"K": "x", "L": "w"}
    assert [e["name"] for e in a["spec"]["template"]["spec"]["containers"][0]["env"]] == ["B"]
    assert len(b["spec"]["template"]["spec"]["containers"][0]["env"]) == 2
    for deployment in (a, b):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "registry.example.com/loyalty:1.2.3"


@pytest.mark.parametrize(
    "kustomization",
    [
        "resources: [../base]\nnamePrefix: x-\n",  # a field the renderer does not know
        "resources: [../base]\npatches:\n  - target: {kind: Secret}\n    patch: '[]'\n",
        "resources: [../base, ../base/config.yaml]\n",  # the same resource twice
        "resources: [https://example.com/remote]\n",
        "resources: [missing.yaml]\n",
    ],
)
def test_what_it_cannot_render_faithfully_is_an_error(project: Path, kustomization: str):
    write(project, {"overlay/kustomization.yaml": kustomization})
    with pytest.raises(KustomizeError):
        render(project / "overlay")


def test_strategic_merge_replaces_lists_without_a_merge_key_and_deletes_on_null():
    target = {"args": ["run", "a"], "keep": 1, "drop": 2}
    assert strategic_merge(target, {"args": ["run", "b"], "drop": None}) == {
        "args": ["run", "b"],
        "keep": 1,
    }


def test_json_patch_rejects_a_missing_path_and_a_failed_test():
    with pytest.raises(KustomizeError):
        apply_json_patch({"a": 1}, [{"op": "replace", "path": "/b", "value": 2}])
    with pytest.raises(KustomizeError):
        apply_json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
    assert apply_json_patch({"a": [1, 3]}, [{"op": "add", "path": "/a/1", "value": 2}]) == {
        "a": [1, 2, 3]
    }
    assert apply_json_patch({"a/b": 1}, [{"op": "remove", "path": "/a~1b"}]) == {}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (its kustomize) not installed")
@pytest.mark.parametrize("build", sorted(BUILDS))
def test_k8s_renders_exactly_as_kubectl_kustomize_does(build: str):
    """The real kustomize, where installed, agrees with the offline renderer on k8s/."""
    output = subprocess.run(
        ["kubectl", "kustomize", str(BUILDS[build])],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    theirs = {resource_id(r): r for r in yaml.safe_load_all(output) if r}
    ours = {resource_id(r): r for r in render(BUILDS[build])}
    assert sorted(ours) == sorted(theirs)
    for key, resource in ours.items():
        assert resource == theirs[key], f"{key} differs from kubectl kustomize"
