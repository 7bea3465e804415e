"""The engine tests' fleets and objects: a one-spoke fleet (Fleet), several spokes on one cluster (Spokes), and the
documents they render. Shared by the engine, safety, health, secrets and policy tiers (tests/integration)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from razee.kube.applier import ApplyResult
from razee.plan.model import Plan
from razee.reconcile import KubePass, PassOptions, Target, plan_spoke
from tests.conftest import run_razee
from tests.fleetrepo import fleet_copy, region_copy, write_repo

RES = "resources: {limits: {cpu: 100m, memory: 64Mi}, requests: {cpu: 100m, memory: 64Mi}}"
"""A container's resources, inside a flow mapping: what the PSS and resource policies of the example fleet want."""


class Fleet:
    """A one-spoke fleet repo whose spoke template is whatever a test writes."""

    def __init__(self, tmp_path: Path, kubeconfig: str) -> None:
        self.root = tmp_path / "fleet"
        self.spoke = f"s-{secrets.token_hex(4)}"
        self.kubeconfig = kubeconfig

    def write(self, docs: str) -> None:
        region = region_copy()
        region["spokes"] = [{"name": self.spoke, "wave": "main"}]
        region["clusters"] = []
        write_repo(self.root, regions=[region], templates={"spoke/objects.yaml.j2": docs})

    def plan(self, **kw: Any) -> KubePass:
        run = plan_spoke(self.root, Target(self.spoke, self.kubeconfig), PassOptions(infra=False, **kw))
        assert run.kube is not None
        return run.kube

    def apply(self, **kw: Any) -> tuple[Plan, Any]:
        run = self.plan(**kw)
        try:
            return run.plan, run.apply()
        finally:
            run.kube.close()

    def diff(self) -> Plan:
        run = self.plan()
        run.kube.close()
        return run.plan

    def cli(self, *args: str) -> Any:
        return run_razee(
            *args, "--repo", str(self.root), "--spoke", self.spoke, "--kubeconfig", self.kubeconfig, "--no-infra"
        )


class Spokes:
    """One fleet repo whose spokes (all reaching the same cluster) each render the documents a test gives them."""

    def __init__(self, tmp_path: Path, kubeconfig: str, count: int = 2, engine: dict[str, str] | None = None) -> None:
        self.root = tmp_path / "fleet"
        suffix = secrets.token_hex(3)
        self.names = [f"s{chr(97 + i)}-{suffix}" for i in range(count)]
        self.kubeconfig = kubeconfig
        self.engine = engine or {}
        self.docs = {n: "" for n in self.names}

    def write(self, **docs: str) -> None:
        """docs by spoke letter: write(a=..., b=...); spokes not named keep their documents."""
        for letter, text in docs.items():
            self.docs[self.name(letter)] = text
        template = (
            "".join(
                f"{{% {'if' if i == 0 else 'elif'} spoke.name == '{n}' %}}\n{{% raw %}}{self.docs[n]}{{% endraw %}}\n"
                for i, n in enumerate(self.names)
            )
            + "{% endif %}\n"
        )
        region = region_copy()
        region["spokes"] = [{"name": n, "wave": "main"} for n in self.names]
        region["clusters"] = []
        fleet = fleet_copy()
        if self.engine:
            fleet["engine"] = self.engine
        write_repo(self.root, fleet=fleet, regions=[region], templates={"spoke/objects.yaml.j2": template})

    def name(self, letter: str) -> str:
        return self.names[ord(letter) - 97]

    def plan(self, letter: str, **kw: Any) -> KubePass:
        run = plan_spoke(self.root, Target(self.name(letter), self.kubeconfig), PassOptions(infra=False, **kw))
        assert run.kube is not None
        return run.kube

    def apply(self, letter: str, **kw: Any) -> tuple[Plan, ApplyResult]:
        run = self.plan(letter, **kw)
        try:
            return run.plan, run.apply()
        finally:
            run.kube.close()

    def diff(self, letter: str, **kw: Any) -> Plan:
        run = self.plan(letter, **kw)
        run.kube.close()
        return run.plan

    def cli(self, letter: str, *args: str) -> Any:
        return run_razee(
            *args, "--repo", str(self.root), "--spoke", self.name(letter), "--kubeconfig", self.kubeconfig, "--no-infra"
        )


def cm(ns: str, name: str, data: dict[str, str] | None = None, meta: str = "") -> str:
    """A ConfigMap document; `meta` is more of its metadata, as indented YAML lines."""
    body = "".join(f"\n  {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in (data or {"k": "v"}).items())
    return f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n{meta}data:{body}\n"


def actions(plan: Plan) -> dict[str, list[str]]:
    """Kind/name of each change, by action."""
    out: dict[str, list[str]] = {}
    for c in plan.changes:
        out.setdefault(c.action.value, []).append(f"{c.key.kind}/{c.key.name}")
    return out


def change_of(plan: Plan, name: str) -> Any:
    return next(c for c in plan.changes if c.key.name == name)
