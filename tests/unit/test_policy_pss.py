"""Every Pod Security Standards control, violated and met, in every pod-bearing kind and container list.

The cases are in tests/policy_corpus/pss.yaml; see its header for how they are built.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from razee.errors import Finding
from razee.fleet.fleet import Fleet
from razee.fleet.loader import load_fleet
from razee.objects import Manifest, Provenance, SpokeRender
from razee.policy.base import POD_SPEC_PATHS
from razee.policy.gate import check_policies
from tests.conftest import run_razee
from tests.fleetrepo import TEMPLATES, fleet_copy, write_repo

CORPUS = Path(__file__).parent.parent / "policy_corpus" / "pss.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text())
LEVELS = ("privileged", "baseline", "restricted")
KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
POSITIONS = ("containers", "initContainers", "ephemeralContainers")
TEMPLATE = "templates/spoke/pods.yaml.j2"

BASE_CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": "icr.io/app:1",
    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "10m", "memory": "16Mi"}},
    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
}
BASE_POD: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [BASE_CONTAINER],
}


def merge(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in fragment.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def wrap(kind: str, name: str, namespace: str, spec: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """A `kind` object whose pods have `spec` and `meta`, at the path the gate looks in."""
    api = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    obj: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": namespace}}
    path = POD_SPEC_PATHS[kind]
    if kind == "Pod":
        obj["metadata"].update(meta)
        obj["spec"] = spec
        return obj
    node = obj
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node["metadata"] = meta
    node["spec"] = spec
    return obj


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """The small test fleet, with one namespace per Pod Security level."""
    f = fleet_copy()
    f["policies"]["podSecurity"] = {"level": "restricted", "namespaces": {f"lvl-{lv}": lv for lv in LEVELS}}
    return load_fleet(write_repo(tmp_path_factory.mktemp("pss"), fleet=f))


def objects(variant: dict[str, Any], everywhere: bool = False) -> list[tuple[str, str, dict[str, Any], str]]:
    """(kind, position, pod spec, expected field prefix) for one fragment in every kind and container list.

    The container fragment goes into the container at `position`, and with `everywhere` into the regular
    container too (a conforming pod must conform in all its containers).
    """
    out = []
    positions = POSITIONS if "container" in variant else ("pod",)
    for kind in KINDS:
        base = ".".join(POD_SPEC_PATHS[kind])
        for pos in positions:
            spec = merge(BASE_POD, variant.get("pod") or {})
            if pos != "pod":
                c = merge(BASE_CONTAINER, variant["container"])
                if pos == "containers" or everywhere:
                    spec["containers"] = [c]
                if pos != "containers":
                    spec[pos] = [{**c, "name": "extra"}]
            at = variant.get("at") or ("container" if pos != "pod" else "pod")
            prefix = {
                "pod": base,
                "container": f"{base}.{'containers' if pos == 'pod' else pos}[0]",
                "meta": ".".join((*POD_SPEC_PATHS[kind][:-1], "metadata")),
            }[at]
            out.append((kind, pos, spec, prefix))
    return out


def pss_findings(fleet: Fleet, objs: list[dict[str, Any]]) -> dict[str, list[tuple[str, str | None]]]:
    """(rule, field) of every pss-* finding, by object name."""
    manifests = tuple(Manifest(o, Provenance(TEMPLATE, i, i + 1)) for i, o in enumerate(objs))
    found: dict[str, list[tuple[str, str | None]]] = {o["metadata"]["name"]: [] for o in objs}
    for f in check_policies(fleet, [SpokeRender("spoke-a", "us-south", manifests)]):
        m = re.match(r"\[(pss-[a-z-]+)\] \S+ \S+/(\S+):", f.message)
        if m:
            found[m.group(2)].append((m.group(1), f.location.field))
    return found


def _ids() -> list[str]:
    return [f"{c['control']}-{c['level']}" for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=_ids())
def test_violations_are_found_from_the_controls_level_up(fleet: Fleet, case: dict[str, Any]) -> None:
    level = LEVELS.index(case["level"])
    for n, variant in enumerate(case["violating"]):
        objs, expected = [], {}
        for kind, pos, spec, prefix in objects(variant):
            for lv in LEVELS:
                name = f"{kind.lower()}-{pos.lower()}-{lv}-{n}"
                objs.append(wrap(kind, name, f"lvl-{lv}", spec, variant.get("meta") or {}))
                expected[name] = (lv, sorted((case["control"], f"{prefix}.{f}") for f in variant["fields"]))
        found = pss_findings(fleet, objs)
        for name, (lv, want) in expected.items():
            got = sorted(found[name])
            if LEVELS.index(lv) < level:
                assert not [g for g in got if g[0] == case["control"]], (name, got)
            elif LEVELS.index(lv) == level:
                assert got == want, (name, variant)
            else:
                assert set(want) <= set(got), (name, got)


@pytest.mark.parametrize("case", CASES, ids=_ids())
def test_conforming_objects_pass(fleet: Fleet, case: dict[str, Any]) -> None:
    for n, variant in enumerate(case["conforming"]):
        lv = variant.get("level", "restricted")
        objs = [
            wrap(kind, f"{kind.lower()}-{pos.lower()}-{n}", f"lvl-{lv}", spec, variant.get("meta") or {})
            for kind, pos, spec, _ in objects(variant, everywhere=True)
        ]
        found = pss_findings(fleet, objs)
        assert all(v == [] for v in found.values()), (variant, {k: v for k, v in found.items() if v})


def test_the_checklist_covers_every_control() -> None:
    from razee.policy.pss import CONTROLS

    assert {c.name for c in CONTROLS} == {c["control"] for c in CASES}
    assert len(CONTROLS) == 15  # the standard's 11 baseline and 6 restricted controls; two span both levels


def test_level_by_fleet_region_and_namespace(tmp_path: Path) -> None:
    """The namespace beats the region, which beats the fleet; the `privileged` level switches the controls off."""
    f = fleet_copy()
    f["policies"]["podSecurity"] = {
        "level": "privileged",
        "regions": {"us-south": "restricted"},
        "namespaces": {"legacy-*": "baseline"},
    }
    fleet = load_fleet(write_repo(tmp_path / "a", fleet=f))
    no_drop = merge(BASE_POD, {"containers": [merge(BASE_CONTAINER, {"securityContext": {"capabilities": None}})]})
    objs = [wrap("Deployment", "modern", "armada", no_drop, {}), wrap("Deployment", "old", "legacy-x", no_drop, {})]
    found = pss_findings(fleet, objs)
    assert found["modern"] == [
        ("pss-capabilities", "spec.template.spec.containers[0].securityContext.capabilities.drop")
    ]
    assert found["old"] == []
    f["policies"]["podSecurity"] = {"level": "privileged"}
    fleet = load_fleet(write_repo(tmp_path / "b", fleet=f))
    sys_admin = merge(BASE_POD, {"hostNetwork": True})
    assert pss_findings(fleet, [wrap("Pod", "host", "armada", sys_admin, {})]) == {"host": []}


def test_unknown_region_in_pod_security_is_an_error(tmp_path: Path) -> None:
    f = fleet_copy()
    f["policies"]["podSecurity"] = {"regions": {"us-nowhere": "restricted"}}
    fleet = load_fleet(write_repo(tmp_path, fleet=f))
    (finding,) = check_policies(fleet, [])
    assert isinstance(finding, Finding)
    assert str(finding).startswith(
        "environments/fleet.yaml: policies.podSecurity.regions.us-nowhere: unknown region 'us-nowhere'"
    )


def test_a_bad_level_is_a_schema_error_with_file_and_line(tmp_path: Path) -> None:
    f = fleet_copy()
    f["policies"]["podSecurity"] = {"level": "strict"}
    r = run_razee("validate", "--repo", str(write_repo(tmp_path, fleet=f)))
    assert r.returncode == 2  # validate reports findings as input errors, as diff does
    assert re.search(
        r"environments/fleet\.yaml:\d+: policies\.podSecurity\.level: Input should be 'privileged', "
        r"'baseline' or 'restricted'",
        r.stderr,
    ), r.stderr


def test_baseline_is_the_default_and_refuses_an_added_capability(tmp_path: Path) -> None:
    """The issue's first pass-through: SYS_ADMIN on a container of an otherwise plain fleet."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: armada}\nspec:\n  containers:\n"
        "  - {name: c, image: 'icr.io/x:1', securityContext: {capabilities: {add: [SYS_ADMIN]}},\n"
        "     resources: {requests: {cpu: 1m, memory: 1Mi}, limits: {cpu: 1m, memory: 1Mi}}}\n"
    )
    root = write_repo(tmp_path, templates={**TEMPLATES, "spoke/pod.yaml.j2": pod})
    r = run_razee("validate", "--repo", str(root))
    assert r.returncode == 2  # refused by the policy gate: an input error, as diff says
    assert (
        "templates/spoke/pod.yaml.j2:1: spec.containers[0].securityContext.capabilities.add: [pss-capabilities] "
        "Pod armada/p: container 'c' adds SYS_ADMIN"
    ) in r.stderr
