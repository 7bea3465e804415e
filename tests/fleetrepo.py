"""Build small fleet repos on disk for tests; every test gets its own copy to break."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import git
import yaml

FLEET: dict[str, Any] = {
    "name": "test-fleet",
    "clusterDefaults": {"kubeVersion": "1.20.2"},
    "rollout": {"waves": [{"name": "canary", "bakeTime": "1m"}, {"name": "main"}]},
    # The small test fleet renders namespaces without NetworkPolicies; tests of that rule switch it on.
    "policies": {"allowedRegistries": ["icr.io/*"], "rules": {"namespace-network-policy": {"enabled": False}}},
    "values": {"replicas": 1, "image": {"registry": "icr.io", "tag": "1.0"}},
}

REGION: dict[str, Any] = {
    "name": "us-south",
    "zones": ["dal10", "dal12"],
    "values": {"image": {"tag": "1.1"}},
    "spokes": [
        {"name": "spoke-a", "wave": "canary", "capacity": 3},
        {"name": "spoke-b", "wave": "main", "capacity": 3, "values": {"replicas": 2}},
    ],
    "clusters": [
        {
            "name": "c1",
            "spoke": "spoke-a",
            "workerPools": [{"name": "default", "flavor": "b3c.4x16", "sizePerZone": 2, "zones": ["dal10"]}],
        },
        {
            "name": "c2",
            "values": {"replicas": 5},
            "workerPools": [{"name": "default", "flavor": "b3c.4x16", "sizePerZone": 1, "zones": ["dal10", "dal12"]}],
        },
    ],
}

TEMPLATES: dict[str, str] = {
    "spoke/base.yaml.j2": """\
apiVersion: v1
kind: Namespace
metadata:
  name: armada
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: spoke-info
  namespace: armada
data:
  spoke: {{ spoke.name | tojson }}
  region: {{ region.name | tojson }}
  clusters: {{ clusters | map(attribute='name') | join(',') | tojson }}
  replicas: {{ values.replicas | string | tojson }}
""",
    "cluster/master.yaml.j2": """\
apiVersion: v1
kind: Namespace
metadata:
  name: master-{{ cluster.name }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: master
  namespace: master-{{ cluster.name }}
data:
  version: {{ cluster.kube_version | tojson }}
  image: "{{ values.image.registry }}/hyperkube:{{ values.image.tag }}"
  replicas: {{ values.replicas | string | tojson }}
""",
    "policy/registries.yaml.j2": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: allowed-registries
  namespace: armada
data:
  registries: {{ policies.allowed_registries | join(',') | tojson }}
""",
}


def write_repo(
    root: Path,
    fleet: dict[str, Any] | None = None,
    regions: list[dict[str, Any]] | None = None,
    templates: dict[str, str] | None = None,
) -> Path:
    env = root / "environments"
    (env / "regions").mkdir(parents=True, exist_ok=True)
    (env / "fleet.yaml").write_text(yaml.safe_dump(fleet if fleet is not None else FLEET, sort_keys=False))
    for region in regions if regions is not None else [REGION]:
        (env / "regions" / f"{region['name']}.yaml").write_text(yaml.safe_dump(region, sort_keys=False))
    for rel, text in (templates if templates is not None else TEMPLATES).items():
        path = root / "templates" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def fleet_copy() -> dict[str, Any]:
    return copy.deepcopy(FLEET)


def region_copy() -> dict[str, Any]:
    return copy.deepcopy(REGION)


ACTOR = git.Actor("Ada Lovelace", "ada@example.com")


def commit(
    root: Path, repo: git.Repo, spokes: list[tuple[str, str]], message: str, waves: list[dict[str, Any]] | None = None
) -> str:
    fleet = fleet_copy()
    fleet["rollout"] = {"waves": waves or [{"name": "canary", "bakeTime": "0s"}, {"name": "main"}]}
    region = region_copy()
    region["spokes"] = [{"name": s, "wave": w} for s, w in spokes]
    region["clusters"] = [{**c, "spoke": spokes[0][0]} for c in region["clusters"]]
    write_repo(root, fleet=fleet, regions=[region])
    repo.git.add(A=True)
    repo.index.commit(message, author=ACTOR, committer=ACTOR)
    return repo.head.commit.hexsha
