"""The expansion step's own rules, kind by kind independent: what is removed, what is wrapped with which origin,
which declarations are refused (unknown kind, dependsOn unknown or cyclic, duplicates) and what a cached render is
keyed with. The HelmChart expander itself is tested against helm in tests/integration/test_helm_*.py and through
whole passes in tests/integration/test_sources_pass.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from razee.errors import InputError
from razee.objects import Manifest, Origin, Provenance, SourceInfo, SpokeRender
from razee.render.cache import DiskRenderCache, EngineSettings, ExpansionStamp, SpokeBundle
from razee.sources import registry
from razee.sources.expand import ExpandEnv, SourceOptions, expand_render, expansion_key, source_inputs
from razee.sources.expander import Capabilities, ExpandContext, Expansion

TEMPLATE = "templates/spoke/sources.yaml.j2"


class Listed:
    """A source kind whose spec lists the objects it expands to (each with a file), for the step's own rules."""

    kind: ClassVar[str] = "Listed"
    seen: ClassVar[list[ExpandContext]] = []

    def expand(self, decl: Manifest, ctx: ExpandContext) -> Expansion:
        Listed.seen.append(ctx)
        ctx.notes.append(f"Listed {decl.name}: expanded")
        objects: list[tuple[dict[str, Any], str | None]] = [
            (obj, f"{decl.name}/obj-{i}.yaml") for i, obj in enumerate(decl.obj["spec"]["objects"])
        ]
        return Expansion(objects, SourceInfo(decl.name, self.kind, version="1", cluster=ctx.cluster))


@pytest.fixture(autouse=True)
def listed_kind() -> Iterator[None]:
    registry.add_expander(Listed())
    Listed.seen.clear()
    yield
    registry._extra.pop("Listed", None)


def cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "apps"}}


def decl(
    name: str,
    line: int,
    objects: list[dict[str, Any]],
    kind: str = "Listed",
    cluster: str | None = None,
    depends: list[str] | None = None,
) -> Manifest:
    spec: dict[str, Any] = {"objects": objects}
    if depends is not None:
        spec["dependsOn"] = depends
    obj = {"apiVersion": "razee.io/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}
    return Manifest(obj, Provenance(TEMPLATE, line, line, cluster))


def template_object(name: str, line: int) -> Manifest:
    return Manifest(cm(name), Provenance(TEMPLATE, line, line))


def env(tmp_path: Path) -> ExpandEnv:
    return ExpandEnv(
        lambda cluster: Capabilities(f"v1.{30 if cluster else 29}.0"),
        None,
        SourceOptions(cache_dir=tmp_path / "sources"),
    )


def expand(tmp_path: Path, *manifests: Manifest) -> tuple[SpokeRender, tuple[str, ...]]:
    out = expand_render(tmp_path, SpokeRender("spoke-a", "us-south", tuple(manifests)), env(tmp_path))
    return out.render, out.notes


def test_sources_become_their_objects_in_place_with_the_chain_and_never_reach_a_cluster(tmp_path: Path) -> None:
    render, notes = expand(
        tmp_path,
        template_object("before", 1),
        decl("first", 5, [cm("a"), cm("b")]),
        decl("second", 12, [cm("c")], cluster="c1", depends=[]),
        template_object("after", 20),
    )
    assert [m.name for m in render.manifests] == ["before", "a", "b", "c", "after"]
    assert not any(m.obj["apiVersion"] == "razee.io/v1" for m in render.manifests)
    a = render.manifests[1]
    assert a.source.template == TEMPLATE and a.source.line == 5  # the declaring template stays the location
    assert a.source.origin == Origin("Listed", "first", "first/obj-0.yaml", ())
    assert "via Listed first, first/obj-0.yaml" in str(a.source)
    assert render.manifests[3].source.cluster == "c1"
    assert render.sources == (
        SourceInfo("first", "Listed", version="1"),
        SourceInfo("second", "Listed", version="1", cluster="c1"),
    )
    assert notes == ("Listed first: expanded", "Listed second: expanded")
    # the capabilities of the scope each was declared in (offline: the spoke's, or the customer cluster's version)
    assert sorted(ctx.capabilities.kube_version for ctx in Listed.seen) == ["v1.29.0", "v1.30.0"]


def test_a_render_without_sources_is_returned_as_it_is(tmp_path: Path) -> None:
    render = SpokeRender("spoke-a", "us-south", (template_object("x", 1),))
    assert expand_render(tmp_path, render, env(tmp_path)).render is render


def test_an_unknown_kind_under_razee_io_is_an_error_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        expand(tmp_path, decl("calico", 7, [], kind="RemoteManifestz"))
    assert str(e.value.findings[0]).startswith(f"{TEMPLATE}:7: kind: unknown source kind 'RemoteManifestz'")
    assert "HelmChart" in str(e.value)  # what is installed


def test_depends_on_an_unknown_name_or_a_cycle_is_refused_with_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        expand(
            tmp_path,
            decl("a", 3, [cm("a")], depends=["b"]),
            decl("b", 9, [cm("b")], depends=["a"]),
            decl("c", 15, [cm("c")], depends=["nope"]),
            decl("d", 21, [cm("d")], cluster="c1", depends=["a"]),
        )  # a is the spoke's, not cluster c1's
    found = [str(f) for f in e.value.findings]
    assert any(f.startswith(f"{TEMPLATE}:15: spec.dependsOn.0: Listed c: dependsOn names 'nope'") for f in found)
    assert any(
        f.startswith(f"{TEMPLATE}:21: spec.dependsOn.0: Listed d: dependsOn names 'a'") and "for cluster c1" in f
        for f in found
    )
    assert any(
        f.startswith(f"{TEMPLATE}:3: spec.dependsOn: Listed a: dependsOn makes a cycle (a -> b -> a)") for f in found
    )
    assert Listed.seen == []  # refused before anything was expanded


def test_depends_on_is_carried_to_every_object_of_the_source(tmp_path: Path) -> None:
    render, _ = expand(tmp_path, decl("db", 3, [cm("db")]), decl("app", 9, [cm("app")], depends=["db"]))
    assert render.manifests[1].source.origin == Origin("Listed", "app", "app/obj-0.yaml", ("db",))


def test_an_object_both_a_template_and_a_source_declare_is_the_renderers_duplicate_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        expand(tmp_path, template_object("shared", 1), decl("src", 5, [cm("shared")]))
    assert "duplicate object ConfigMap apps/shared: also rendered by" in str(e.value)
    assert f"{TEMPLATE}:5" in str(e.value)


def test_an_object_without_a_name_from_a_source_names_the_source(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        expand(tmp_path, decl("src", 5, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}]))
    assert str(e.value) == f"{TEMPLATE}:5: Listed src, src/obj-0.yaml: manifest has no metadata.name"


def test_the_cache_stamp_follows_the_folders_sources_read_and_live_capabilities(tmp_path: Path) -> None:
    chart = {
        "apiVersion": "razee.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": "m"},
        "spec": {"path": "charts/metrics", "valuesFiles": ["values/m.yaml", "../outside.yaml"]},
    }
    inputs = source_inputs([Manifest(chart, Provenance(TEMPLATE, 1, 1))])
    assert inputs == ("charts", "values")
    (tmp_path / "charts" / "metrics").mkdir(parents=True)
    (tmp_path / "charts" / "metrics" / "Chart.yaml").write_text("name: metrics\n")
    key = expansion_key(tmp_path, inputs, None)
    assert expansion_key(tmp_path, inputs, None) == key
    (tmp_path / "charts" / "other.yaml").write_text("a: 1\n")  # anything in the folder: bases, file:// deps
    changed = expansion_key(tmp_path, inputs, None)
    assert changed != key
    live = Capabilities("v1.36.3", ("v1", "apps/v1"), live=True)
    assert expansion_key(tmp_path, inputs, live) != changed
    assert expansion_key(tmp_path, inputs, Capabilities("v1.36.4", ("v1", "apps/v1"), live=True)) != expansion_key(
        tmp_path, inputs, live
    )


def test_a_cached_bundle_keeps_origins_sources_and_its_stamp(tmp_path: Path) -> None:
    origin = Origin("HelmChart", "m", "metrics/templates/deployment.yaml", ("db",))
    m = Manifest(cm("x"), Provenance(TEMPLATE, 2, 4, "c1", None, origin))
    info = SourceInfo("m", "HelmChart", "metrics", "0.1.0", "sha256:" + "0" * 64, "c1")
    stamp = ExpansionStamp("k", True, ("charts",), ("a note",))
    bundle = SpokeBundle("s", "r", "main", (m,), EngineSettings(), sources=(info,), stamp=stamp)
    cache = DiskRenderCache(tmp_path / "cache")
    cache.put("k1", bundle)
    got = cache.get("k1")
    assert got == bundle and got.manifests[0].source.origin == origin and got.stamp == stamp


def test_the_servers_version_as_helm_takes_it() -> None:
    from razee.reconcile.expansion import _kube_version

    assert _kube_version({"gitVersion": "v1.36.3", "major": "1", "minor": "36"}) == "v1.36.3"
    assert _kube_version({"gitVersion": "v1.33.13-gke.100", "major": "1", "minor": "33"}) == "v1.33.13"
    # a server built without version stamps says v0.0.0-master: its major and minor fields still say which
    assert _kube_version({"gitVersion": "v0.0.0-master+$Format:%H$", "major": "1", "minor": "36+"}) == "v1.36.0"
