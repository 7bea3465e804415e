"""The rules razee ships, registered by name. Each is on by default and configured under `policies.rules`."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from razee.policy.base import Rule, RuleContext, Violation, pod_templates
from razee.policy.pss import CONTROLS
from razee.policy.rbac import RbacEscalation


class AllowedRegistries:
    name = "allowed-registries"
    description = "container images only from policies.allowedRegistries (globs); optionally pinned by digest"

    def check(self, ctx: RuleContext) -> Iterator[Violation]:
        allowed = ctx.fleet.spec.policies.allowed_registries
        digest = bool(ctx.options.get("requireDigest", False))
        for t in pod_templates(ctx):
            m = t.manifest
            for path, c in t.containers:
                image = str(c.get("image", ""))
                if not any(fnmatch.fnmatchcase(image, pattern) for pattern in allowed):
                    yield Violation(
                        self.name,
                        m,
                        f"{path}.image",
                        f"image {image!r} is not from an allowed registry ({', '.join(allowed)})",
                    )
                elif digest and "@sha256:" not in image:
                    yield Violation(self.name, m, f"{path}.image", f"image {image!r} is not pinned by digest")


class NoPrivileged:
    name = "no-privileged"
    description = "no privileged containers, host network/PID/IPC or hostPath volumes"

    def check(self, ctx: RuleContext) -> Iterator[Violation]:
        for t in pod_templates(ctx):
            m, base, spec = t.manifest, t.base, t.spec
            for flag in ("hostNetwork", "hostPID", "hostIPC"):
                if spec.get(flag) is True:
                    yield Violation(self.name, m, f"{base}.{flag}", f"{flag} is not allowed")
            for i, v in enumerate(spec.get("volumes") or []):
                if isinstance(v, dict) and "hostPath" in v:
                    yield Violation(
                        self.name,
                        m,
                        f"{base}.volumes[{i}].hostPath",
                        f"hostPath volume {v.get('name')!r} is not allowed",
                    )
            for path, c in t.containers:
                sc = c.get("securityContext") or {}
                if sc.get("privileged") is True:
                    yield Violation(
                        self.name, m, f"{path}.securityContext.privileged", f"container {c.get('name')!r} is privileged"
                    )
                if sc.get("allowPrivilegeEscalation") is True:
                    yield Violation(
                        self.name,
                        m,
                        f"{path}.securityContext.allowPrivilegeEscalation",
                        f"container {c.get('name')!r} allows privilege escalation",
                    )


class NamespaceNetworkPolicy:
    name = "namespace-network-policy"
    description = "every namespace razee creates gets a NetworkPolicy in the same render"

    def check(self, ctx: RuleContext) -> Iterator[Violation]:
        covered = {
            m.namespace
            for m in ctx.manifests
            if m.kind == "NetworkPolicy" and m.api_version.startswith("networking.k8s.io/")
        }
        for m in ctx.manifests:
            if m.kind == "Namespace" and m.api_version == "v1" and m.name not in covered:
                yield Violation(self.name, m, None, f"namespace {m.name} has no NetworkPolicy")


class Resources:
    name = "resources"
    description = "CPU and memory requests and limits on every container"

    def check(self, ctx: RuleContext) -> Iterator[Violation]:
        for t in pod_templates(ctx):
            m = t.manifest
            for path, c in t.containers:
                res = c.get("resources") or {}
                missing = [
                    f"{kind}.{r}"
                    for kind in ("requests", "limits")
                    for r in ("cpu", "memory")
                    if not (res.get(kind) or {}).get(r)
                ]
                if missing:
                    yield Violation(
                        self.name, m, f"{path}.resources", f"container {c.get('name')!r} has no {', '.join(missing)}"
                    )


class ClusterAdminBindings:
    name = "cluster-admin-bindings"
    description = "no binding to cluster-admin unless its name is in options.allow"

    def check(self, ctx: RuleContext) -> Iterator[Violation]:
        allow = [str(a) for a in ctx.options.get("allow", [])]
        for m in ctx.manifests:
            if m.kind not in ("ClusterRoleBinding", "RoleBinding") or not m.api_version.startswith("rbac."):
                continue
            ref = m.obj.get("roleRef") or {}
            admin = ref.get("kind") == "ClusterRole" and ref.get("name") == "cluster-admin"
            if admin and not any(fnmatch.fnmatchcase(m.name, a) for a in allow):
                yield Violation(
                    self.name, m, "roleRef.name", f"binds cluster-admin; allowed bindings: {', '.join(allow) or 'none'}"
                )


class NamespaceScope:
    name = "namespace-scope"
    description = "a cluster's templates write only into that cluster's namespace (options.clusterNamespace)"

    def check(self, ctx: RuleContext) -> Iterator[Violation]:
        pattern = str(ctx.options.get("clusterNamespace", "master-{cluster}"))
        own = {c.name: pattern.format(cluster=c.name) for c in ctx.view.clusters}
        all_cluster_ns = {pattern.format(cluster=c.name) for r in ctx.fleet.regions for c in r.clusters}
        for m in ctx.manifests:
            cluster = m.source.cluster
            if cluster is not None:
                mine = own.get(cluster)
                if m.namespace and m.namespace != mine:
                    yield Violation(
                        self.name,
                        m,
                        "metadata.namespace",
                        f"cluster {cluster}'s templates may only write into {mine}, not {m.namespace}",
                    )
                elif not m.namespace and not (m.kind == "Namespace" and m.name == mine):
                    yield Violation(
                        self.name,
                        m,
                        None,
                        f"cluster {cluster}'s templates may not create cluster-scoped {m.kind} objects",
                    )
            elif m.namespace in all_cluster_ns:
                yield Violation(
                    self.name,
                    m,
                    "metadata.namespace",
                    f"spoke and policy templates may not write into cluster namespace {m.namespace}",
                )


_SHIPPED: tuple[Rule, ...] = (
    AllowedRegistries(),
    NoPrivileged(),
    NamespaceNetworkPolicy(),
    Resources(),
    ClusterAdminBindings(),
    NamespaceScope(),
    RbacEscalation(),
    *CONTROLS,
)
RULES: dict[str, Rule] = {r.name: r for r in _SHIPPED}
"""Every shipped rule by name. The `pss-*` controls apply at the level `policies.podSecurity` selects."""
