"""The pipeline shared by the CLI and (later) the agent: render a spoke, plan against its cluster, apply."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from razee.errors import UsageError
from razee.kube.applier import ApplyResult, Progress, apply_plan
from razee.kube.client import Kube, load_api_client
from razee.kube.discovery import Discovery
from razee.kube.health import Health
from razee.kube.planner import PlanOptions, PlanState, plan_changes
from razee.kube.wait import wait_healthy
from razee.pipeline import Selection, render
from razee.plan.model import Plan
from razee.render.manifest import ObjectKey


@dataclass(frozen=True)
class Target:
    """One spoke and the cluster it reconciles."""

    spoke: str
    kubeconfig: str | None = None
    context: str | None = None


@dataclass
class Pass:
    plan: Plan
    state: PlanState
    kube: Kube
    discovery: Discovery
    options: PlanOptions

    def apply(self, progress: Progress | None = None) -> ApplyResult:
        return apply_plan(self.kube, self.discovery, self.plan, self.state, self.options, progress)

    def wait(self, timeout: float) -> dict[ObjectKey, Health]:
        """Objects that are not healthy after waiting up to `timeout` seconds (empty when all are)."""
        return wait_healthy(self.kube, self.discovery, self.state.desired_versions.items(), self.options.target,
                            timeout)

    def close(self) -> None:
        self.kube.close()


def plan_spoke(root: Path, target: Target, prune: bool = True, allow_mass_prune: bool = False,
               concurrency: int = 8) -> Pass:
    if not target.spoke:
        raise UsageError("name the spoke to reconcile with --spoke")
    _, results = render(root, Selection(spoke=target.spoke))
    manifests = results[0].manifests
    kube = Kube(load_api_client(target.kubeconfig, target.context, pool_size=max(concurrency, 4)))
    try:
        discovery = Discovery(kube)
        options = PlanOptions(target.spoke, prune=prune, allow_mass_prune=allow_mass_prune,
                              concurrency=concurrency)
        plan, state = plan_changes(kube, discovery, manifests, options)
    except BaseException:
        kube.close()
        raise
    return Pass(plan, state, kube, discovery, options)
