"""API versions Kubernetes no longer serves, with their replacements: a manifest that still uses one is an input
error that says what to write instead.

From Kubernetes' deprecated API migration guide (kubernetes.io/docs/reference/using-api/deprecation-guide/): the
release that stopped serving each (kind, apiVersion), and its replacement ("" when there is none).
"""

from __future__ import annotations

from typing import NamedTuple


class Removed(NamedTuple):
    replacement: str
    release: str
    note: str = ""


_PSP = (
    "PodSecurityPolicy was removed in 1.25, with no replacement kind: Pod Security admission (namespace labels) "
    "does its job"
)


def _each(
    api_version: str, kinds: str, replacement: str, release: str, note: str = ""
) -> dict[tuple[str, str], Removed]:
    return {(api_version, kind): Removed(replacement, release, note) for kind in kinds.split()}


REMOVED: dict[tuple[str, str], Removed] = {
    **_each("extensions/v1beta1", "Deployment DaemonSet ReplicaSet", "apps/v1", "1.16"),
    **_each("apps/v1beta1", "Deployment StatefulSet ReplicaSet", "apps/v1", "1.16"),
    **_each("apps/v1beta2", "Deployment StatefulSet DaemonSet ReplicaSet", "apps/v1", "1.16"),
    **_each("extensions/v1beta1", "NetworkPolicy", "networking.k8s.io/v1", "1.16"),
    **_each("extensions/v1beta1", "PodSecurityPolicy", "", "1.16", _PSP),
    **_each("extensions/v1beta1", "Ingress", "networking.k8s.io/v1", "1.22"),
    **_each("networking.k8s.io/v1beta1", "Ingress IngressClass", "networking.k8s.io/v1", "1.22"),
    **_each(
        "rbac.authorization.k8s.io/v1beta1",
        "Role ClusterRole RoleBinding ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1",
        "1.22",
    ),
    **_each(
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration MutatingWebhookConfiguration",
        "admissionregistration.k8s.io/v1",
        "1.22",
    ),
    **_each("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "apiextensions.k8s.io/v1", "1.22"),
    **_each("apiregistration.k8s.io/v1beta1", "APIService", "apiregistration.k8s.io/v1", "1.22"),
    **_each("scheduling.k8s.io/v1beta1", "PriorityClass", "scheduling.k8s.io/v1", "1.22"),
    **_each("storage.k8s.io/v1beta1", "StorageClass VolumeAttachment CSIDriver CSINode", "storage.k8s.io/v1", "1.22"),
    **_each("certificates.k8s.io/v1beta1", "CertificateSigningRequest", "certificates.k8s.io/v1", "1.22"),
    **_each("coordination.k8s.io/v1beta1", "Lease", "coordination.k8s.io/v1", "1.22"),
    **_each("batch/v1beta1", "CronJob", "batch/v1", "1.25"),
    **_each("discovery.k8s.io/v1beta1", "EndpointSlice", "discovery.k8s.io/v1", "1.25"),
    **_each("events.k8s.io/v1beta1", "Event", "events.k8s.io/v1", "1.25"),
    **_each("autoscaling/v2beta1", "HorizontalPodAutoscaler", "autoscaling/v2", "1.25"),
    **_each("policy/v1beta1", "PodDisruptionBudget", "policy/v1", "1.25"),
    **_each("policy/v1beta1", "PodSecurityPolicy", "", "1.25", _PSP),
    **_each("node.k8s.io/v1beta1", "RuntimeClass", "node.k8s.io/v1", "1.25"),
    **_each("autoscaling/v2beta2", "HorizontalPodAutoscaler", "autoscaling/v2", "1.26"),
    **_each(
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "FlowSchema PriorityLevelConfiguration",
        "flowcontrol.apiserver.k8s.io/v1",
        "1.26",
    ),
    **_each("storage.k8s.io/v1beta1", "CSIStorageCapacity", "storage.k8s.io/v1", "1.27"),
    **_each(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "FlowSchema PriorityLevelConfiguration",
        "flowcontrol.apiserver.k8s.io/v1",
        "1.29",
    ),
    **_each(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "FlowSchema PriorityLevelConfiguration",
        "flowcontrol.apiserver.k8s.io/v1",
        "1.32",
    ),
}


def not_served(api_version: str, kind: str) -> str:
    """Why the server does not serve `kind` in `api_version`, and what to use instead where that is known."""
    removed = REMOVED.get((api_version, kind))
    if removed is None:
        return (
            f"the server does not serve {kind} in {api_version}, and no CustomResourceDefinition of this pass "
            "declares it"
        )
    if not removed.replacement:
        return f"{kind} {api_version} is no longer served: Kubernetes {removed.release} removed it; {removed.note}"
    return (
        f"{kind} {api_version} is no longer served: Kubernetes {removed.release} removed it; use apiVersion: "
        f"{removed.replacement}"
    )
