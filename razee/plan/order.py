"""Apply order: what must exist before what. Pruning runs the stages in reverse."""

from __future__ import annotations

from razee.objects import ObjectKey

STAGES: tuple[tuple[str, frozenset[str]], ...] = (
    ("namespaces and CRDs", frozenset({"Namespace", "CustomResourceDefinition"})),
    ("RBAC", frozenset({"ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding",
                        "PodSecurityPolicy", "PriorityClass", "StorageClass"})),
    ("config", frozenset({"ConfigMap", "Secret", "LimitRange", "ResourceQuota", "NetworkPolicy",
                          "PersistentVolume", "PersistentVolumeClaim"})),
    ("services", frozenset({"Service", "Endpoints", "Ingress", "IngressClass"})),
    ("workloads", frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod",
                             "PodDisruptionBudget", "HorizontalPodAutoscaler"})),
)
CUSTOM_STAGE = len(STAGES)
STAGE_NAMES = [name for name, _ in STAGES] + ["custom resources"]

_BUILTIN_GROUPS = {"", "apps", "batch", "rbac.authorization.k8s.io", "networking.k8s.io", "policy",
                   "apiextensions.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "autoscaling",
                   "coordination.k8s.io", "admissionregistration.k8s.io"}


def stage_of(key: ObjectKey) -> int:
    for i, (_, kinds) in enumerate(STAGES):
        if key.kind in kinds and key.group in _BUILTIN_GROUPS:
            return i
    return CUSTOM_STAGE
