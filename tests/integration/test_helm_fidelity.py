"""The fidelity corpus: what razee's HelmChart expander gives for tests/data/charts/corpus is, object for object,
what the official `helm template` renders for the same chart, values, release, namespace and capabilities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from razee.sources.helm import HelmExpander, rendercache
from tests.helpers.charts import built_corpus, context, declaration, helm, helm_batch, ident, reference

CASES: list[tuple[str, str | None, dict[str, Any], str, tuple[str, ...]]] = [
    ("plain", "apps", {"image": {"tag": "1.0"}}, "v1.36.3", ()),
    (
        "everything",
        "team-a",
        {
            "image": {"tag": "2.0"},
            "replicas": 3,
            "extraLabels": {"team": "a"},
            "widgets": ["one", "two"],
            "sub": {"enabled": False},
            "inner": {"message": "set by parent"},
            "global": {"tier": "gold"},
            "greeting": "{{ .Release.Namespace }}/{{ .Chart.Name }}",
        },
        "v1.30.2",
        ("policy/v1/PodDisruptionBudget", "widgets.corpus.example.com/v1"),
    ),
    ("no-namespace", None, {"image": {"tag": "3"}, "sub": {"color": "green"}}, "v1.33.1", ("policy/v1",)),
]
"""name, release namespace (None: the declaration has none, so "default"), values, kube version, API versions."""

NAMESPACED = {"Deployment", "ConfigMap", "Secret", "Service", "Widget", "Job", "Pod", "PodDisruptionBudget"}
"""The kinds in the corpus that helm install puts into the release namespace (the rest are cluster-scoped)."""


@pytest.fixture(params=["helm", "batch"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways razee runs helm's code: a `helm template` process per release, and razee-helm-batch."""
    monkeypatch.setenv("RAZEE_HELM_BATCH", "off" if request.param == "helm" else helm_batch())
    return str(request.param)


@pytest.mark.parametrize(("name", "namespace", "values", "kube", "apis"), CASES, ids=[c[0] for c in CASES])
def test_razee_renders_what_helm_template_renders(
    tmp_path: Path,
    engine: str,
    name: str,
    namespace: str | None,
    values: dict[str, Any],
    kube: str,
    apis: tuple[str, ...],
) -> None:
    rendercache._renders.clear()  # each engine renders for itself
    chart = built_corpus(tmp_path / "ref")
    release_ns = namespace or "default"
    want = reference(chart, tmp_path, "rel", release_ns, values, kube, apis)
    ctx = context(tmp_path / "cache", kube_version=kube, api_versions=apis)
    got = HelmExpander().expand(declaration({"path": "charts/corpus", "values": values}, "rel", namespace), ctx)

    tests = [o for o in want if o["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"]
    assert [ident(o) for o in tests] == [("Pod", "rel-corpus-test")]
    assert any("test hook" in n for n in ctx.notes)
    want = [o for o in want if o not in tests]
    objects = [o for o, _ in got.objects]
    assert sorted(map(ident, objects)) == sorted(map(ident, want))
    by_id = {ident(o): o for o in want}
    for obj in objects:
        ref = by_id[ident(obj)]
        if obj["kind"] in NAMESPACED and "namespace" not in ref["metadata"]:
            assert obj["metadata"]["namespace"] == release_ns, ident(obj)
            obj = {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "namespace"}}
        assert obj == ref, ident(obj)
    files = {ident(o): f for o, f in got.objects}
    assert files[("Deployment", "rel-corpus")] == "corpus/templates/deployment.yaml"
    assert files[("CustomResourceDefinition", "widgets.corpus.example.com")] == "crds/widgets.yaml"
    assert files[("CustomResourceDefinition", "clustergadgets.corpus.example.com")] == "crds/widgets.yaml"
    assert got.info.chart == "corpus" and got.info.version == "0.1.0" and str(got.info.digest).startswith("sha256:")


def test_capabilities_reach_the_chart(tmp_path: Path) -> None:
    values = {"image": {"tag": "1"}}
    old = HelmExpander().expand(
        declaration({"path": "charts/corpus", "values": values}), context(tmp_path / "a", kube_version="v1.29.4")
    )
    new = HelmExpander().expand(
        declaration({"path": "charts/corpus", "values": values}),
        context(tmp_path / "b", kube_version="v1.36.3", api_versions=("policy/v1/PodDisruptionBudget",)),
    )
    env = {o["kind"]: o for o, _ in old.objects}["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "KUBE_MINOR", "value": "29"} in env
    assert "PodDisruptionBudget" not in {o["kind"] for o, _ in old.objects}
    assert "PodDisruptionBudget" in {o["kind"] for o, _ in new.objects}


def test_the_fleet_tree_is_never_written(tmp_path: Path) -> None:
    before = sorted(p.name for p in (Path(__file__).parents[1] / "data/charts/corpus/charts").iterdir())
    HelmExpander().expand(declaration({"path": "charts/corpus", "values": {"image": {"tag": "1"}}}), context(tmp_path))
    after = sorted(p.name for p in (Path(__file__).parents[1] / "data/charts/corpus/charts").iterdir())
    assert before == after == ["inner"]


def test_a_release_renders_once_per_distinct_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The render cache: the same chart, values, release, namespace and capabilities run helm once, in this process
    and in another one sharing the cache folder; a change of values renders again."""
    calls = tmp_path / "calls"
    wrapper = tmp_path / "helm"
    wrapper.write_text(f'#!/bin/sh\n[ "$1" = template ] && echo x >> {calls}\nexec {helm()} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("RAZEE_HELM", str(wrapper))
    spec: dict[str, Any] = {"path": "charts/corpus", "values": {"image": {"tag": "cache-test"}}}
    first = HelmExpander().expand(declaration(spec), context(tmp_path / "cache"))
    again = HelmExpander().expand(declaration(spec), context(tmp_path / "cache"))
    assert calls.read_text().count("x") == 1 and again.objects == first.objects
    rendercache._renders.clear()  # as a new process (a render worker, a restarted agent) starts
    from_disk = HelmExpander().expand(declaration(spec), context(tmp_path / "cache"))
    assert calls.read_text().count("x") == 1 and from_disk.objects == first.objects
    HelmExpander().expand(declaration({**spec, "values": {"image": {"tag": "other"}}}), context(tmp_path / "cache"))
    HelmExpander().expand(declaration(spec, namespace="other-ns"), context(tmp_path / "cache"))
    assert calls.read_text().count("x") == 3
