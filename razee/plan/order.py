"""Apply order: what must exist before what. Pruning runs the stages in reverse."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from razee.objects import ObjectKey

STAGES: tuple[tuple[str, frozenset[str]], ...] = (
    ("namespaces and CRDs", frozenset({"Namespace", "CustomResourceDefinition"})),
    (
        "RBAC",
        frozenset(
            {
                "ServiceAccount",
                "ClusterRole",
                "Role",
                "ClusterRoleBinding",
                "RoleBinding",
                "PodSecurityPolicy",
                "PriorityClass",
                "StorageClass",
            }
        ),
    ),
    (
        "config",
        frozenset(
            {
                "ConfigMap",
                "Secret",
                "LimitRange",
                "ResourceQuota",
                "NetworkPolicy",
                "PersistentVolume",
                "PersistentVolumeClaim",
            }
        ),
    ),
    ("services", frozenset({"Service", "Endpoints", "Ingress", "IngressClass"})),
    (
        "workloads",
        frozenset(
            {
                "Deployment",
                "StatefulSet",
                "DaemonSet",
                "ReplicaSet",
                "Job",
                "CronJob",
                "Pod",
                "PodDisruptionBudget",
                "HorizontalPodAutoscaler",
            }
        ),
    ),
)
CUSTOM_STAGE = len(STAGES)
STAGE_NAMES = [name for name, _ in STAGES] + ["custom resources"]

_BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "rbac.authorization.k8s.io",
    "networking.k8s.io",
    "policy",
    "apiextensions.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "autoscaling",
    "coordination.k8s.io",
    "admissionregistration.k8s.io",
}


def stage_of(key: ObjectKey) -> int:
    for i, (_, kinds) in enumerate(STAGES):
        if key.kind in kinds and key.group in _BUILTIN_GROUPS:
            return i
    return CUSTOM_STAGE


def source_waves(depends: Mapping[str, Collection[str]]) -> tuple[list[list[str]], list[str]]:
    """Units (sources, and "" for the templates' own objects) in waves: each after every unit it depends on.

    A unit without dependencies is in the first wave, with the templates' objects. Returns the waves and the
    units caught in a cycle (`validate` refuses cycles; the engine then applies them last, in one wave, rather
    than not at all).
    """
    waves: list[list[str]] = []
    placed: set[str] = set()
    left = dict(depends)
    while left:
        ready = sorted(u for u, deps in left.items() if all(d in placed or d not in depends for d in deps))
        if not ready:
            cycle = sorted(left)
            waves.append(cycle)
            return waves, cycle
        waves.append(ready)
        placed.update(ready)
        for u in ready:
            del left[u]
    return waves, []
