"""rbac-escalation: what a fleet allows by name passes, and nothing more (the refusals are in the corpus)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from razee.fleet.loader import load_fleet
from razee.policy.gate import check_policies
from razee.render.renderer import render_spokes
from tests.conftest import run_razee
from tests.fleetrepo import TEMPLATES, fleet_copy, write_repo

ROLES = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: deployer}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [get, bind, escalate]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: armada}
rules:
- {apiGroups: [""], resources: [configmaps, "pods/*"], verbs: [get, list]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: gatekeeper}
webhooks: []
"""


def _findings(tmp_path: Path, allow: Any) -> list[str]:
    fleet = fleet_copy()
    fleet["policies"]["rules"]["rbac-escalation"] = {"options": {"allow": allow}}
    root = write_repo(tmp_path, fleet=fleet, templates={**TEMPLATES, "policy/roles.yaml.j2": ROLES})
    f = load_fleet(root)
    return [str(x) for x in check_policies(f, render_spokes(root, f, f.spokes()))]


def test_without_allowances_every_path_is_refused(tmp_path: Path) -> None:
    found = _findings(tmp_path, {})
    assert [f.split("[rbac-escalation] ")[1].split(";")[0] for f in found] == [
        "ClusterRole.rbac.authorization.k8s.io deployer: grants the escalate verb",
        "ClusterRole.rbac.authorization.k8s.io deployer: grants the bind verb",
        "Role.rbac.authorization.k8s.io armada/reader: grants resources pods/*",
        "ValidatingWebhookConfiguration.admissionregistration.k8s.io gatekeeper: a ValidatingWebhookConfiguration "
        "sees every object the cluster admits",
    ]


def test_allowed_by_name_and_category_only(tmp_path: Path) -> None:
    allow = {
        "ClusterRole/deployer": ["bind"],
        "Role/armada/*": ["wildcard-resources"],
        "ValidatingWebhookConfiguration/gatekeeper": ["webhook"],
    }
    found = _findings(tmp_path, allow)
    assert len(found) == 1 and "deployer: grants the escalate verb" in found[0]  # bind was allowed, escalate not


def test_malformed_allowances_are_an_error(tmp_path: Path) -> None:
    assert _findings(tmp_path / "a", {"ClusterRole/deployer": ["sudo"]}) == [
        "environments/fleet.yaml: policies.rules.rbac-escalation.options: rbac-escalation: "
        "options.allow['ClusterRole/deployer']: unknown sudo; known: wildcard-verbs, wildcard-resources, "
        "wildcard-api-groups, escalate, bind, impersonate, webhook"
    ]
    assert "options.allow must map" in _findings(tmp_path / "b", ["ClusterRole/deployer"])[0]


def test_the_example_fleet_passes_with_its_agent_allowed_by_name() -> None:
    r = run_razee("validate")
    assert r.returncode == 0, r.stderr
