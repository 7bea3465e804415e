"""Rendering: context, provenance, determinism, and every kind of bad template."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from razee.errors import InputError
from razee.fleet.loader import load_fleet
from razee.render.renderer import render_spokes
from tests.conftest import run_razee
from tests.fleetrepo import TEMPLATES, write_repo


def _render_all(root: Path) -> dict[str, list[dict[str, object]]]:
    fleet = load_fleet(root)
    return {r.spoke: [m.obj for m in r.manifests] for r in render_spokes(root, fleet, fleet.spokes())}


def _render_error(root: Path) -> list[str]:
    fleet = load_fleet(root)
    with pytest.raises(InputError) as info:
        render_spokes(root, fleet, fleet.spokes())
    return [str(f) for f in info.value.findings]


def test_spoke_cluster_and_policy_templates_render_with_layered_values(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    fleet = load_fleet(root)
    out = _render_all(root)
    spoke_of_c2 = fleet.assignments["c2"]
    objs = out[spoke_of_c2]
    names = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert ("Namespace", "master-c2") in names
    master_c2 = next(o for o in objs if o["metadata"] == {"name": "master", "namespace": "master-c2"})
    assert master_c2["data"] == {"version": "1.20.2", "image": "icr.io/hyperkube:1.1", "replicas": "5"}
    info = next(o for o in out["spoke-a"] if o["metadata"]["name"] == "spoke-info")
    assert info["data"]["spoke"] == "spoke-a"
    assert "c1" in info["data"]["clusters"].split(",")
    assert any(o["metadata"]["name"] == "allowed-registries" for o in out["spoke-b"])


def test_manifests_remember_template_document_and_line(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    fleet = load_fleet(root)
    (result,) = render_spokes(root, fleet, [fleet.find_spoke("spoke-a")])  # type: ignore[list-item]
    cm = next(m for m in result.manifests if m.name == "master")
    assert cm.source.template == "templates/cluster/master.yaml.j2"
    assert cm.source.document == 2
    assert cm.source.line == 6  # the line after the '---' in the rendered template
    assert cm.source.cluster == "c1"


def test_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    first = run_razee("render", "--repo", str(root))
    second = run_razee("render", "--repo", str(root), env={"PYTHONHASHSEED": "12345"})
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert first.stdout.count("\nkind: Namespace") == 2 + 2  # armada per spoke + one per cluster


def _bad_template(tmp_path: Path, text: str, name: str = "cluster/bad.yaml.j2") -> tuple[int, str, str]:
    root = write_repo(tmp_path, templates={**TEMPLATES, name: text})
    r = run_razee("render", "--repo", str(root))
    return r.returncode, r.stdout, r.stderr


def test_missing_variable_is_an_error_not_a_blank(tmp_path: Path) -> None:
    rc, out, err = _bad_template(
        tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ values.nope }}\n"
    )
    assert rc == 2 and out == ""
    assert "templates/cluster/bad.yaml.j2:6: undefined value:" in err
    assert "nope" in err


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    rc, out, err = _bad_template(tmp_path, "a: 1\nb: {% if %}\n")
    assert rc == 2 and out == ""
    assert "templates/cluster/bad.yaml.j2:2: template syntax error" in err


def test_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    rc, out, err = _bad_template(tmp_path, "a: {{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    assert rc == 2 and out == ""
    assert "templates/cluster/bad.yaml.j2:1: undefined value" in err or "sandbox" in err
    assert "__subclasses__" not in out


@pytest.mark.parametrize("target", ["../environments/fleet.yaml", "/etc/passwd", "cluster/../../README.md"])
def test_templates_cannot_read_outside_the_templates_folder(tmp_path: Path, target: str) -> None:
    (tmp_path / "README.md").write_text("secret")
    rc, out, err = _bad_template(tmp_path, f"{{% include {target!r} %}}\n")
    assert rc == 2 and out == ""
    assert "templates/cluster/bad.yaml.j2:1: template not found" in err


def test_symlink_out_of_the_repo_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked}\n")
    root = write_repo(tmp_path / "repo")
    os.symlink(outside, root / "templates" / "cluster" / "_leak.yaml.j2")
    (root / "templates" / "cluster" / "inc.yaml.j2").write_text("{% include 'cluster/_leak.yaml.j2' %}\n")
    r = run_razee("render", "--repo", str(root))
    assert r.returncode == 2 and r.stdout == ""
    assert "leads outside the templates folder" in r.stderr


def test_duplicate_objects_name_both_sources(tmp_path: Path) -> None:
    dup = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: armada\n"
    rc, out, err = _bad_template(tmp_path, dup, name="spoke/zz-dup.yaml.j2")
    assert rc == 2 and out == ""
    assert (
        "templates/spoke/zz-dup.yaml.j2:1: duplicate object Namespace armada: also rendered by "
        "templates/spoke/base.yaml.j2 document 1 (rendered line 1)" in err
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: ConfigMap\nmetadata: {name: a}\n", ": apiVersion: manifest has no apiVersion"),
        ("apiVersion: v1\nmetadata: {name: a}\n", ": kind: manifest has no kind"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", ": metadata.name: manifest has no metadata.name"),
        ("- a\n- b\n", "a manifest must be a mapping, not list"),
        ("a: [\n", "in rendered output (rendered for "),
        ("apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: a}\n", "duplicate key 'kind'"),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: &d {a: b}\nextra: *d\n",
            "YAML anchors and aliases are not allowed in rendered manifests",
        ),
    ],
)
def test_invalid_manifests(tmp_path: Path, text: str, message: str) -> None:
    rc, out, err = _bad_template(tmp_path, text)
    assert rc == 2 and out == ""
    assert "templates/cluster/bad.yaml.j2:" in err
    assert message in err


def test_error_inside_a_template_expression(tmp_path: Path) -> None:
    rc, _, err = _bad_template(tmp_path, "a: 1\nb: {{ 1 // 0 }}\n")
    assert rc == 2
    assert "templates/cluster/bad.yaml.j2:2: ZeroDivisionError" in err


def test_validate_lists_findings_and_exits_2(tmp_path: Path) -> None:
    root = write_repo(tmp_path, templates={**TEMPLATES, "cluster/bad.yaml.j2": "a: {{ nope }}\n"})
    r = run_razee("validate", "--repo", str(root))
    assert r.returncode == 2  # an input error, as diff and apply say for the same repo
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    # one finding for the template problem, naming every cluster it hits, not one line per cluster
    assert lines == [
        "error: templates/cluster/bad.yaml.j2:1: undefined value: 'nope' is undefined "
        "(rendering for 2 clusters: c1, c2)"
    ]


def test_validate_ok_summary(tmp_path: Path) -> None:
    r = run_razee("validate", "--repo", str(write_repo(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok: 1 regions, 2 spokes, 2 clusters, 10 objects rendered\n"


def test_render_selection_and_json(tmp_path: Path) -> None:
    root = write_repo(tmp_path)
    r = run_razee("render", "--repo", str(root), "--spoke", "spoke-a", "-o", "json")
    assert r.returncode == 0, r.stderr
    import json

    doc = json.loads(r.stdout)
    assert [s["spoke"] for s in doc["spokes"]] == ["spoke-a"]
    assert all(o["source"]["template"].startswith("templates/") for o in doc["spokes"][0]["objects"])
    region = run_razee("render", "--repo", str(root), "--region", "us-south")
    assert region.returncode == 0
    assert len(list(yaml.safe_load_all(region.stdout))) == 10  # 3 per spoke + 2 per cluster
    bad = run_razee("render", "--repo", str(root), "--spoke", "nope")
    assert bad.returncode == 2 and "unknown spoke 'nope'; the fleet has: spoke-a, spoke-b" in bad.stderr
    both = run_razee("render", "--repo", str(root), "--spoke", "spoke-a", "--region", "us-south")
    assert both.returncode == 2 and "not both" in both.stderr


def test_example_fleet_labels_namespaces_for_pod_security_admission_at_the_fleets_level(tmp_path: Path) -> None:
    """The namespace label the apiserver's PodSecurity admission enforces follows `policies.podSecurity`:
    namespace globs beat the region, which beats the fleet-wide level."""
    import shutil

    from tests.conftest import REPO

    for part in ("environments", "templates", "charts", "kustomize"):  # what sources read too
        shutil.copytree(REPO / part, tmp_path / part)
    fleet_file = tmp_path / "environments" / "fleet.yaml"
    spec = yaml.safe_load(fleet_file.read_text())
    spec["policies"]["podSecurity"] = {
        "level": "restricted",
        "regions": {"us-south": "baseline"},
        "namespaces": {"master-*": "restricted"},
    }
    fleet_file.write_text(yaml.safe_dump(spec))
    fleet = load_fleet(tmp_path)
    spoke = next(s for s in fleet.spokes() if s.spoke.name == "us-south-spoke-1")
    (render,) = render_spokes(tmp_path, fleet, [spoke])
    labels = {
        m.obj["metadata"]["name"]: m.obj["metadata"]["labels"].get("pod-security.kubernetes.io/enforce")
        for m in render.manifests
        if m.obj["kind"] == "Namespace"
    }
    assert labels["armada"] == "baseline" and labels["razee-system"] == "baseline"  # the region's level
    masters = [v for k, v in labels.items() if k.startswith("master-")]
    assert masters and set(masters) == {"restricted"}  # the namespace glob wins
