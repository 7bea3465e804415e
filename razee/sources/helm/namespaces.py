"""Putting namespaced objects a chart renders without a namespace into the release namespace, as `helm install`
does (its client sets the namespace on every namespaced object through the API's REST mapping).

Without a cluster to ask, razee decides scope from the built-in kinds, the CRDs the chart itself ships (their
`spec.scope`), and for other custom kinds the Kubernetes convention that cluster-wide kinds are named `Cluster…`.
"""

from __future__ import annotations

from typing import Any

CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("policy", "PodSecurityPolicy"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
    }
)
"""(group, kind) of the built-in cluster-scoped kinds a chart may render."""


def _group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    return str(obj.get("apiVersion", "")).rpartition("/")[0], str(obj.get("kind", ""))


def chart_crd_scopes(objects: list[tuple[dict[str, Any], str | None]]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for each CRD the chart renders."""
    scopes: dict[tuple[str, str], bool] = {}
    for obj, _ in objects:
        if _group_kind(obj) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            spec = obj.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            if kind:
                scopes[(str(spec.get("group", "")), str(kind))] = spec.get("scope") != "Cluster"
    return scopes


def is_namespaced(obj: dict[str, Any], crds: dict[tuple[str, str], bool]) -> bool:
    group, kind = _group_kind(obj)
    if (group, kind) in crds:
        return crds[(group, kind)]
    if (group, kind) in CLUSTER_SCOPED:
        return False
    builtin = group == "" or "." not in group or group.endswith(".k8s.io")
    return builtin or not kind.startswith("Cluster")


def default_namespaces(objects: list[tuple[dict[str, Any], str | None]], namespace: str) -> None:
    """Set `namespace` on every namespaced object that has none (in place)."""
    crds = chart_crd_scopes(objects)
    for obj, _ in objects:
        meta = obj.setdefault("metadata", {})
        if isinstance(meta, dict) and not meta.get("namespace") and is_namespaced(obj, crds):
            meta["namespace"] = namespace
