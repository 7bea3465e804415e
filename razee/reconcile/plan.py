"""Planning one spoke's pass: its render (from the cache when unchanged), then Kubernetes and infrastructure plans.

The plans hold the open connections they were made with, so applying them (razee.reconcile.flow) reads nothing
again; `Pass.close()` lets go of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from razee.errors import UsageError
from razee.gcpause import paused_gc
from razee.kube.applier import ApplyResult, Progress, apply_plan
from razee.kube.client import Kube, load_api_client
from razee.kube.discovery import Discovery
from razee.kube.health import Health, health_of
from razee.kube.planner import PlanOptions, PlanState, plan_changes
from razee.kube.session import PassSession
from razee.kube.wait import wait_healthy
from razee.objects import Manifest, ObjectKey, SourceInfo
from razee.plan.model import Plan
from razee.reconcile.expansion import live_spoke
from razee.reconcile.load import render_spoke
from razee.render.cache import EngineSettings, RenderCache
from razee.sources.expand import SourceOptions

if TYPE_CHECKING:  # infrastructure (and the fleet model it reads) loads only for passes that include it
    from razee.fleet.fleet import Fleet, SpokeView
    from razee.infra.changes import InfraPlan
    from razee.infra.executor import ExecOptions, InfraResult
    from razee.infra.provider import Provider


@dataclass(frozen=True)
class Target:
    """One spoke, the cluster it reconciles, and where its infrastructure provider keeps state."""

    spoke: str
    kubeconfig: str | None = None
    context: str | None = None
    provider_settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PassOptions:
    kube: bool = True
    infra: bool = True
    prune: bool = True
    allow_mass_prune: bool = False
    concurrency: int = 8
    max_replace: int = 2
    take_over_conflicts: bool | None = None
    """Take fields over from other apply managers: True/False, or None for the fleet's `engine.conflicts`
    (what an unattended agent uses). `razee apply` passes False unless told --force-conflicts."""
    age_identity: str | None = None
    """The age identity file that decrypts the fleet's secrets (the CLI's --age-identity, RAZEE_AGE_IDENTITY)."""
    sources: SourceOptions = field(default_factory=SourceOptions)
    """Where pulled charts are cached and the credentials repositories take (razee.sources.expand)."""


@dataclass
class KubePass:
    plan: Plan
    state: PlanState
    kube: Kube
    discovery: Discovery
    options: PlanOptions

    def apply(self, progress: Progress | None = None) -> ApplyResult:
        return apply_plan(self.kube, self.discovery, self.plan, self.state, self.options, progress)

    def health_as_planned(self) -> dict[ObjectKey, Health]:
        """Objects not healthy in the live state the plan just read (for a pass that changed nothing)."""
        return health_of(self.state.live.objects, self.state.desired_versions)

    def wait(self, timeout: float) -> dict[ObjectKey, Health]:
        """Objects that are not healthy after waiting up to `timeout` seconds (empty when all are)."""
        return wait_healthy(
            self.kube, self.discovery, self.state.desired_versions.items(), self.options.target, timeout
        )


@dataclass
class InfraPass:
    plan: InfraPlan
    provider: Provider
    options: ExecOptions

    def apply(self) -> InfraResult:
        from razee.infra.executor import apply_infra

        return apply_infra(self.provider, self.plan, self.options)


@dataclass
class Pass:
    spoke: str
    region: str = ""
    wave: str = ""
    kube: KubePass | None = None
    infra: InfraPass | None = None
    sources: tuple[SourceInfo, ...] = ()
    """Each source the spoke's templates declared, expanded (name, kind, chart, version, digest): for reports."""
    notes: tuple[str, ...] = ()
    """What the expansion wants said: a test hook dropped, a last good copy used while a repository is down."""

    @property
    def has_changes(self) -> bool:
        return bool((self.kube and self.kube.plan.has_changes) or (self.infra and self.infra.plan.has_changes))

    @property
    def has_errors(self) -> bool:
        return bool((self.kube and self.kube.plan.has_errors) or (self.infra and self.infra.plan.refused))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "spoke": self.spoke,
            "kubernetes": self.kube.plan.to_json() if self.kube else None,
            "infrastructure": self.infra.plan.to_json() if self.infra else None,
        }
        if self.sources:
            out["sources"] = [s.to_json() for s in self.sources]
        return out

    def close(self) -> None:
        if self.kube:
            self.kube.kube.close()
        if self.infra:
            self.infra.provider.close()


def connect(target: Target, options: PassOptions, session: PassSession | None = None) -> Kube:
    """The pass's connection to the spoke: the agent's open one, else a new one (closed by the KubePass)."""
    kube = session.pass_kube() if session is not None else None  # the agent's loop: its connection stays open
    if kube is None:
        kube = Kube(load_api_client(target.kubeconfig, target.context, pool_size=max(options.concurrency, 4)))
    return kube


def plan_kube(
    manifests: tuple[Manifest, ...],
    target: Target,
    options: PassOptions,
    engine: EngineSettings | None = None,
    session: PassSession | None = None,
    kube: Kube | None = None,
) -> KubePass:
    """`engine`: the fleet's `engine` settings (what to do with conflicts, how long a prune waits); `kube`: a
    connection `connect` opened already (it is closed with the KubePass)."""
    engine = engine or EngineSettings()
    takeover = engine.takes_over if options.take_over_conflicts is None else options.take_over_conflicts
    kube = kube or connect(target, options, session)
    try:
        discovery = session.discovery(kube) if session is not None else Discovery(kube)
        plan_options = PlanOptions(
            target.spoke,
            prune=options.prune,
            allow_mass_prune=options.allow_mass_prune,
            concurrency=options.concurrency,
            conflicts="takeover" if takeover else "refuse",
            prune_timeout=engine.prune_timeout,
            hook_timeout=engine.hook_timeout,
        )
        with paused_gc():  # LIST answers are large acyclic graphs; see razee.gcpause
            plan, state = plan_changes(
                kube,
                discovery,
                manifests,
                plan_options,
                session.memo if session is not None else None,
                session.live if session is not None else None,
            )
    except BaseException:
        kube.close()
        raise
    return KubePass(plan, state, kube, discovery, plan_options)


def plan_infrastructure(
    view: SpokeView,
    provider_name: str,
    target: Target,
    options: PassOptions,
    fleet: Fleet | None = None,
    root: Path | None = None,
) -> InfraPass:
    from razee.infra.executor import ExecOptions
    from razee.infra.model import DesiredCluster
    from razee.infra.planner import InfraOptions, plan_infra
    from razee.infra.registry import open_provider

    provider = open_provider(provider_name, target.provider_settings, fleet, view, root)
    try:
        desired = [DesiredCluster.from_fleet(c) for c in view.clusters]
        actual = provider.observe([c.name for c in desired], target.spoke)
        plan = plan_infra(
            target.spoke,
            provider_name,
            desired,
            actual,
            InfraOptions(max_replace=options.max_replace, allow_mass_delete=options.allow_mass_prune),
        )
    except BaseException:
        provider.close()
        raise
    return InfraPass(plan, provider, ExecOptions(concurrency=options.concurrency))


def plan_spoke(
    root: Path,
    target: Target,
    options: PassOptions | None = None,
    cache: RenderCache | None = None,
    session: PassSession | None = None,
) -> Pass:
    """Render (or take from `cache`), expand sources and plan one spoke's pass; nothing is applied.

    With Kubernetes in the pass, the spoke's server is reached first: sources render with its capabilities.
    """
    options = options or PassOptions()
    if not target.spoke:
        raise UsageError("name the spoke to reconcile with --spoke")
    kube = connect(target, options, session) if options.kube else None
    before = kube.counter.total if kube is not None else 0
    try:
        live = live_spoke(kube, target.kubeconfig, target.context) if kube is not None else None
        bundle = render_spoke(
            root, target.spoke, cache, age_identity=options.age_identity, live=live, sources=options.sources
        )
    except BaseException:
        if kube is not None:
            kube.close()
        raise
    run = Pass(
        target.spoke,
        bundle.region,
        bundle.wave,
        sources=bundle.sources,
        notes=bundle.stamp.notes if bundle.stamp else (),
    )
    try:
        if kube is not None:
            reads = kube.counter.total - before  # the sources' capabilities, read live: the pass's requests too
            run.kube = plan_kube(bundle.manifests, target, options, bundle.engine, session, kube)
            run.kube.plan.requests += reads
        if options.infra:
            fleet = bundle.fleet
            if fleet is None:  # a render from the disk cache: infrastructure needs the fleet itself
                from razee.fleet.loader import load_fleet

                fleet = load_fleet(root)
            view = fleet.find_spoke(target.spoke)
            assert view is not None  # the render already refused an unknown spoke
            run.infra = plan_infrastructure(
                view, view.region.provider or fleet.spec.provider, target, options, fleet, root
            )
    except BaseException:
        run.close()
        raise
    return run
