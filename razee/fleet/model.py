"""The desired-state schema of a fleet repo (`environments/`).

Models forbid unknown fields so that a typo in the repo is an error rather than a silently ignored setting.
Field names are camelCase in YAML, as in Kubernetes; Python code uses snake_case.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic.alias_generators import to_camel

# Cluster names become namespaces on their spoke (with a prefix), so they must stay valid DNS labels.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")]
KubeVersion = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+$")]
Flavor = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.]{0,40}$")]

_DURATION = re.compile(r"^(\d+)(s|m|h)$")


def parse_duration(text: str) -> int:
    """Seconds in a duration such as `90s`, `10m` or `2h`."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"invalid duration {text!r}: use a number followed by s, m or h, such as 10m")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_check_duration)]


def _check_failures(value: int | str) -> int | str:
    if isinstance(value, int):
        if value < 0:
            raise ValueError("maxFailures must not be negative")
        return value
    if not re.fullmatch(r"(100|[1-9]?\d)%", value):
        raise ValueError(f"invalid maxFailures {value!r}: use a count such as 2 or a share such as 10%")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, strict=False
    )


class WorkerPool(Strict):
    """Workers of one flavor, `sizePerZone` of them in each listed zone."""

    name: Name
    flavor: Flavor
    size_per_zone: int = Field(ge=0, le=500)
    zones: list[Name] = Field(min_length=1)


class Cluster(Strict):
    """A customer cluster: its hosted master runs on a spoke; its workers are infrastructure."""

    name: Name
    spoke: Name | None = None
    kube_version: KubeVersion | None = None
    encrypted_disks: bool | None = None
    public_vlan: bool | None = None
    worker_pools: list[WorkerPool] = Field(min_length=1)
    values: dict[str, Any] = Field(default_factory=dict)


class Spoke(Strict):
    """A control-plane cluster that hosts the masters of up to `capacity` customer clusters."""

    name: Name
    wave: Name
    capacity: int = Field(default=250, ge=1, le=10_000)
    values: dict[str, Any] = Field(default_factory=dict)


class Check(Strict):
    """A PromQL query whose value judges a spoke while its wave bakes (docs/rollout.md).

    The query is Jinja with the spoke's context (`spoke`, `region`, `fleet`, `values`), checked at load. A query
    that returns nothing fails unless `missing: pass`: silence is not health.
    """

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    query: str = Field(min_length=1, max_length=4000)
    max: float | None = None
    min: float | None = None
    missing: Literal["fail", "pass"] = "fail"
    interval: Duration = "30s"

    @model_validator(mode="after")
    def _has_a_threshold(self) -> Check:
        if self.max is None and self.min is None:
            raise ValueError(f"check {self.name!r} needs a threshold: max, min or both")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"check {self.name!r}: min {self.min} is above max {self.max}")
        return self

    @field_validator("query")
    @classmethod
    def _balanced(cls, query: str) -> str:
        from razee.fleet.promql import balance_problem

        problem = balance_problem(query)
        if problem:
            raise ValueError(f"query is not valid PromQL: {problem}")
        return query


class Window(Strict):
    """A maintenance window: it opens at each time the 5-field cron names (in `timezone`) and lasts `duration`."""

    cron: str
    duration: Duration
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _parses(self) -> Window:
        from razee.fleet.windows import check_window

        check_window(self.cron, self.duration, self.timezone)
        return self


class Wave(Strict):
    """One step of a progressive rollout."""

    name: Name
    bake_time: Duration = "0s"
    max_failures: Annotated[int | str, AfterValidator(_check_failures)] = 0
    require_approval: bool = False
    progress_deadline: Duration | None = None
    """How long a spoke of this wave may take to apply a revision and become healthy, counted from when the wave
    may start; one that has not by then counts as failed (against maxFailures) instead of holding later waves."""
    checks: list[Check] = Field(default_factory=list, max_length=20)
    """Metric checks each spoke of the wave evaluates while it bakes; a failed one fails the spoke."""

    @model_validator(mode="after")
    def _check_names_unique(self) -> Wave:
        names = [c.name for c in self.checks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"wave {self.name!r}: check {dup[0]!r} is defined twice")
        return self


class Rollout(Strict):
    waves: list[Wave] = Field(min_length=1)
    on_failure: Literal["halt", "rollback"] = "halt"
    """What a halted revision does to the spokes that applied it: stay (halt) or return to the last revision that
    completed its rollout there (rollback)."""
    windows: list[Window] = Field(default_factory=list, max_length=50)
    """When waves may start a revision (urgent revisions excepted); none means at any time."""


class Region(Strict):
    name: Name
    zones: list[Name] = Field(min_length=1)
    provider: Name | None = None
    providers: dict[Name, dict[str, Any]] = Field(default_factory=dict)
    """Settings per infrastructure provider, layered over fleet.yaml's; the provider plugin checks them."""
    spokes: list[Spoke] = Field(min_length=1)
    clusters: list[Cluster] = Field(default_factory=list)
    values: dict[str, Any] = Field(default_factory=dict)
    windows: list[Window] | None = None
    """Maintenance windows of this region (in their own time zones); they replace the fleet's `rollout.windows`
    for its spokes. An empty list means: at any time."""


class Engine(Strict):
    """How the Kubernetes engine behaves where the fleet decides (docs/engine.md)."""

    conflicts: Literal["takeover", "refuse"] = "takeover"
    """What an unattended agent does when another server-side-apply manager owns a field the fleet declares:
    take the field over and report it (as Flux and Argo CD do), or refuse the object. `razee apply` run by a
    person always refuses unless told `--force-conflicts`."""
    prune_timeout: Duration = "60s"
    """How long a prune waits for a deleted object to be gone (finalizers) before it reports it stuck."""
    hook_timeout: Duration = "300s"
    """How long a Helm hook (a Job or Pod) and a source's `dependsOn` dependencies may take to finish or become
    healthy before the pass stops (docs/sources.md); a chart whose migration Job runs longer raises it."""


class ClusterDefaults(Strict):
    kube_version: KubeVersion
    encrypted_disks: bool = True
    public_vlan: bool = True


class Subject(Strict):
    kind: Literal["User", "Group", "ServiceAccount"]
    name: str = Field(min_length=1)
    namespace: Name | None = None

    @model_validator(mode="after")
    def _service_accounts_live_in_a_namespace(self) -> Subject:
        if self.kind == "ServiceAccount" and not self.namespace:
            raise ValueError("a ServiceAccount subject needs a namespace")
        if self.kind != "ServiceAccount" and self.namespace:
            raise ValueError(f"a {self.kind} subject has no namespace")
        return self


class RbacBinding(Strict):
    """A ClusterRoleBinding every spoke gets."""

    name: Name
    cluster_role: str = Field(min_length=1)
    subjects: list[Subject] = Field(min_length=1)


PublicServiceType = Literal["NodePort", "LoadBalancer", "Ingress"]
_ALL_PUBLIC: tuple[PublicServiceType, ...] = ("NodePort", "LoadBalancer", "Ingress")


class NetworkDefaults(Strict):
    """Default Calico policy for public worker interfaces."""

    allow_all_egress: bool = True
    public_ingress_to: list[PublicServiceType] = Field(default_factory=lambda: list(_ALL_PUBLIC))
    selector: str = "ibm.role == 'worker_public'"


class RuleSettings(Strict):
    """How one policy rule applies: on or off, objects exempt from it, and rule-specific options."""

    enabled: bool = True
    exempt: list[str] = Field(default_factory=list)
    """Objects the rule skips, as `Kind/namespace/name` or `Kind/name` (cluster-scoped); globs allowed."""
    options: dict[str, Any] = Field(default_factory=dict)


PodSecurityLevel = Literal["privileged", "baseline", "restricted"]


class PodSecurity(Strict):
    """Which Pod Security Standards level the `pss-*` rules enforce: the most specific setting wins.

    A namespace glob (first match in file order) beats a region, which beats the fleet-wide `level`.
    """

    level: PodSecurityLevel = "baseline"
    regions: dict[Name, PodSecurityLevel] = Field(default_factory=dict)
    namespaces: dict[str, PodSecurityLevel] = Field(default_factory=dict)

    def level_for(self, region: str, namespace: str) -> str:
        """The level for a namespace of a region: what the `pss-*` rules check and what templates label the
        namespace with (`pod-security.kubernetes.io/enforce`), so the apiserver's PodSecurity admission enforces
        the same level on whatever reaches the cluster by another way."""
        for pattern, level in self.namespaces.items():
            if fnmatch.fnmatchcase(namespace, pattern):
                return level
        return self.regions.get(region, self.level)


class CustomMatch(Strict):
    """Which objects a custom rule sees; an empty list matches everything."""

    kinds: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    """Namespace globs; with any given, cluster-scoped objects are not matched."""


class CustomRule(Strict):
    """A fleet-defined rule in CEL, shaped like a Kubernetes ValidatingAdmissionPolicy validation.

    `expression` sees `object` (the rendered manifest) and `spoke` (name, region, wave); false is a violation.
    """

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    match: CustomMatch = Field(default_factory=CustomMatch)
    expression: str = Field(min_length=1, max_length=10_000)
    message: str = Field(min_length=1, max_length=1_000)

    @model_validator(mode="after")
    def _compiles(self) -> CustomRule:
        # compiled here so that a broken expression is reported at its file and line, like any schema error
        import cel

        try:
            cel.compile(self.expression)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # ValueError as a rule, but a Rust panic (PyO3) is a BaseException
            detail = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
            raise ValueError(f"custom rule {self.name!r}: expression does not compile: {detail}") from None
        return self


class Policies(Strict):
    allowed_registries: list[str] = Field(min_length=1)
    network_defaults: NetworkDefaults = Field(default_factory=NetworkDefaults)
    rbac: list[RbacBinding] = Field(default_factory=list)
    rules: dict[str, RuleSettings] = Field(default_factory=dict)
    """Settings per policy rule; every shipped rule is on unless switched off here."""
    pod_security: PodSecurity = Field(default_factory=PodSecurity)
    custom: list[CustomRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _custom_names_unique(self) -> Policies:
        seen: set[str] = set()
        for rule in self.custom:
            if rule.name in seen:
                raise ValueError(f"custom rule {rule.name!r} is defined twice")
            seen.add(rule.name)
        return self


class FleetSpec(Strict):
    """`environments/fleet.yaml`: settings every region and spoke inherits."""

    name: Name
    provider: Name = "local"
    providers: dict[Name, dict[str, Any]] = Field(default_factory=dict)
    """Settings per infrastructure provider (`providers.aws: {...}`); each plugin validates its own section."""
    cluster_defaults: ClusterDefaults
    rollout: Rollout
    policies: Policies
    values: dict[str, Any] = Field(default_factory=dict)
    engine: Engine = Field(default_factory=Engine)
