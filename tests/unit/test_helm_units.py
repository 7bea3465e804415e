"""The HelmChart expander's pure parts: reading helm's output, the release namespace, CRD files, the spec."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from razee.errors import InputError
from razee.sources.helm import rendercache
from razee.sources.helm.expander import _file
from razee.sources.helm.namespaces import default_namespaces
from razee.sources.helm.spec import parse_spec
from razee.sources.helm.template import parse_output
from tests.helpers.charts import declaration

OUTPUT = """---
# Source: app/crds/things.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
spec: {group: example.com, scope: Cluster, names: {kind: Thing}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.example.com}
spec: {group: example.com, scope: Namespaced, names: {kind: Gizmo}}
---
# Source: app/templates/all.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
---
# Source: app/templates/all.yaml
apiVersion: example.com/v1
kind: Thing
metadata: {name: t}
---
# Source: app/templates/all.yaml
apiVersion: example.com/v1
kind: Gizmo
metadata: {name: g}
---
# Source: app/templates/all.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
---
# Source: app/templates/all.yaml
apiVersion: other.io/v1
kind: ClusterIssuer
metadata: {name: i}
---
# Source: app/templates/all.yaml
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: elsewhere}
"""


def test_output_is_split_into_objects_with_their_files() -> None:
    objects = parse_output(OUTPUT)
    assert [(o["metadata"]["name"], f) for o, f in objects][:3] == [
        ("things.example.com", "app/crds/things.yaml"),
        ("gizmos.example.com", "app/crds/things.yaml"),
        ("cm", "app/templates/all.yaml"),
    ]


def test_namespaced_objects_go_to_the_release_namespace() -> None:
    objects = parse_output(OUTPUT)
    default_namespaces(objects, "rel-ns")
    got: dict[str, Any] = {o["metadata"]["name"]: o["metadata"].get("namespace") for o, _ in objects}
    assert got == {
        "things.example.com": None,
        "gizmos.example.com": None,
        "cm": "rel-ns",
        "t": None,
        "g": "rel-ns",
        "r": None,
        "i": None,
        "s": "elsewhere",
    }


def test_crd_files_start_with_crds() -> None:
    assert _file("app/crds/things.yaml", "app") == "crds/things.yaml"
    assert _file("app/charts/sub/crds/x.yaml", "app") == "crds/charts/sub/x.yaml"
    assert _file("app/templates/crds/x.yaml", "app") == "app/templates/crds/x.yaml"
    assert _file("app/templates/deploy.yaml", "app") == "app/templates/deploy.yaml"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"repo": "https://x", "chart": "c"}, "spec"),
        ({"repo": "ftp://x", "chart": "c", "version": "1"}, "spec"),
        ({"path": "p", "digest": "md5:00"}, "spec.digest"),
        ({"path": "p", "dependsOn": "a"}, "spec.dependsOn"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as e:
        parse_spec(declaration(spec))
    assert f"templates/cluster/charts.yaml:7: {field}:" in str(e.value)


def test_a_good_spec_reads_its_aliases() -> None:
    spec = parse_spec(declaration({"path": "p", "valuesFiles": ["v.yaml"], "dependsOn": ["cert-manager"]}))
    assert spec.values_files == ["v.yaml"] and spec.depends_on == ["cert-manager"]


def test_the_render_folder_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "helm-renders"
    folder.mkdir()
    for i in range(12):
        (folder / f"{i:02d}.json").write_text("[]")
        os.utime(folder / f"{i:02d}.json", (1000 + i, 1000 + i))
    monkeypatch.setattr(rendercache, "RENDER_FILES_MAX", 5)
    rendercache._trim(folder)
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:02d}.json" for i in range(7, 12)]


def test_a_damaged_render_file_reads_as_a_miss(tmp_path: Path) -> None:
    (tmp_path / "helm-renders").mkdir()
    (tmp_path / "helm-renders" / "k.json").write_text('{"not": "a list of pairs"}')
    assert rendercache.cached_render("k", tmp_path) is None
