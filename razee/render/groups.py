"""Kinds the apiserver serves under several API groups: one object in etcd, reachable by either name.

Declared twice under two of these groups, one object would be applied twice per pass, once as each, and flap
between the two declarations for ever; moved from one group to the other, it must be updated, never pruned. Both
the render's duplicate check and pruning (razee.kube.ownership) therefore treat these keys as one object.
"""

from __future__ import annotations

from razee.render.manifest import ObjectKey

GROUP_ALIASES: dict[str, frozenset[str]] = {
    "Ingress": frozenset({"extensions", "networking.k8s.io"}),
    "NetworkPolicy": frozenset({"extensions", "networking.k8s.io"}),
    "Deployment": frozenset({"extensions", "apps"}),
    "DaemonSet": frozenset({"extensions", "apps"}),
    "ReplicaSet": frozenset({"extensions", "apps"}),
    "PodSecurityPolicy": frozenset({"extensions", "policy"}),
    "Event": frozenset({"", "events.k8s.io"}),
}
"""Kind -> the groups that serve it as one object (Kubernetes' own moves between groups)."""


def aliases(key: ObjectKey) -> list[ObjectKey]:
    """The key itself and the same object under every other group that serves it."""
    groups = GROUP_ALIASES.get(key.kind)
    if groups is None or key.group not in groups:
        return [key]
    return [key, *(key._replace(group=g) for g in sorted(groups) if g != key.group)]


def canonical(key: ObjectKey) -> ObjectKey:
    """One key for all the names of an object (the alphabetically first group), for finding duplicates."""
    return min(aliases(key))
