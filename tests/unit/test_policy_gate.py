"""The policy gate on a corpus of malicious and broken inputs (tests/policy_corpus/cases.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from razee.fleet.loader import load_fleet
from razee.policy.gate import check_policies
from razee.render.renderer import render_spokes
from razee.source.local import BUILTIN_FLEET
from tests.conftest import run_razee
from tests.fleetrepo import TEMPLATES, fleet_copy, write_repo

CORPUS = Path(__file__).parent.parent / "policy_corpus" / "cases.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text())


def _expected(case: dict[str, Any]) -> list[str]:
    expect = case["expect"]
    return [" ".join(e.split()) for e in ([expect] if isinstance(expect, str) else expect)]


def _repo(tmp_path: Path, case: dict[str, Any]) -> Path:
    fleet = fleet_copy()
    for rule, settings in (case.get("rules") or {}).items():
        fleet["policies"]["rules"][rule] = settings
    if case.get("custom"):
        fleet["policies"]["custom"] = case["custom"]
    return write_repo(tmp_path, fleet=fleet, templates={**TEMPLATES, case["template"]: case["text"]})


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_case_is_refused_with_rule_and_location(tmp_path: Path, case: dict[str, Any]) -> None:
    root = _repo(tmp_path, case)
    fleet = load_fleet(root)
    findings = [" ".join(str(f).split()) for f in check_policies(fleet, render_spokes(root, fleet, fleet.spokes()))]
    for expected in _expected(case):
        assert expected in findings, f"missing {expected!r} in {findings}"
    evil = f"templates/{case['template']}"
    if not case.get("rules"):  # with the default rules, only the malicious template is at fault
        assert all(f.startswith(evil) for f in findings), findings
    r = run_razee("validate", "--repo", str(root))
    assert r.returncode == 2 and r.stdout == ""
    assert _expected(case)[0] in " ".join(r.stderr.split())
    rendered = run_razee("render", "--repo", str(root))
    assert rendered.returncode == 2 and rendered.stdout == ""  # nothing is printed as if it were valid


def test_the_example_fleet_passes_the_gate() -> None:
    fleet = load_fleet(BUILTIN_FLEET)
    assert check_policies(fleet, render_spokes(BUILTIN_FLEET, fleet, fleet.spokes())) == []


def test_exemptions_and_switching_rules_off(tmp_path: Path) -> None:
    case = next(c for c in CASES if c["name"] == "privileged-host-access")
    fleet = fleet_copy()
    # the same object breaks the Pod Security Standards' baseline (pss-*): exempt it from those rules too
    pss = ("pss-host-namespaces", "pss-host-path-volumes", "pss-privileged")
    for rule in ("no-privileged", *pss):
        fleet["policies"]["rules"][rule] = {"exempt": ["DaemonSet/armada/root"]}
    root = write_repo(tmp_path / "a", fleet=fleet, templates={**TEMPLATES, case["template"]: case["text"]})
    f = load_fleet(root)
    assert check_policies(f, render_spokes(root, f, f.spokes())) == []
    for rule in pss:
        del fleet["policies"]["rules"][rule]
    fleet["policies"]["podSecurity"] = {"namespaces": {"armada": "privileged"}}
    fleet["policies"]["rules"]["no-privileged"] = {"enabled": False}
    root = write_repo(tmp_path / "b", fleet=fleet, templates={**TEMPLATES, case["template"]: case["text"]})
    f = load_fleet(root)
    assert check_policies(f, render_spokes(root, f, f.spokes())) == []


def test_unknown_rule_names_are_an_error(tmp_path: Path) -> None:
    fleet = fleet_copy()
    fleet["policies"]["rules"]["no-such-rule"] = {"enabled": True}
    r = run_razee("validate", "--repo", str(write_repo(tmp_path, fleet=fleet)))
    assert r.returncode == 2
    assert "environments/fleet.yaml: policies.rules: unknown policy rule(s) no-such-rule" in r.stderr


def test_digest_pinning_option(tmp_path: Path) -> None:
    fleet = fleet_copy()
    fleet["policies"]["rules"]["allowed-registries"] = {"options": {"requireDigest": True}}
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: armada}\nspec:\n  containers:\n"
        "  - {name: c, image: 'icr.io/x:1', resources: {requests: {cpu: 1m, memory: 1Mi}, "
        "limits: {cpu: 1m, memory: 1Mi}}}\n"
    )
    root = write_repo(tmp_path, fleet=fleet, templates={**TEMPLATES, "spoke/pod.yaml.j2": pod})
    f = load_fleet(root)
    (finding,) = check_policies(f, render_spokes(root, f, f.spokes()))
    assert "image 'icr.io/x:1' is not pinned by digest" in str(finding)
