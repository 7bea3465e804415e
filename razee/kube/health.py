"""Whether applied objects are healthy: rollout status for workloads, Established for CRDs, Ready for the rest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from razee.objects import ObjectKey


class HealthStatus(StrEnum):
    HEALTHY = "healthy"
    PROGRESSING = "progressing"
    DEGRADED = "degraded"


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    reason: str = ""


HEALTHY = Health(HealthStatus.HEALTHY)


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c.get("type", ""): c for c in (obj.get("status") or {}).get("conditions") or []}


def _generation_pending(obj: dict[str, Any]) -> bool:
    observed = (obj.get("status") or {}).get("observedGeneration")
    generation = (obj.get("metadata") or {}).get("generation")
    return generation is not None and (observed is None or observed < generation)


def _deployment(obj: dict[str, Any]) -> Health:
    if _generation_pending(obj):
        return Health(HealthStatus.PROGRESSING, "waiting for the controller to observe the new generation")
    progressing = _conditions(obj).get("Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health(HealthStatus.DEGRADED, f"rollout stuck: {progressing.get('message', '')}")
    want = (obj.get("spec") or {}).get("replicas", 1)
    status = obj.get("status") or {}
    updated, available = status.get("updatedReplicas", 0), status.get("availableReplicas", 0)
    total = status.get("replicas", 0)
    if updated < want:
        return Health(HealthStatus.PROGRESSING, f"{updated} of {want} replicas updated")
    if total > updated:
        return Health(HealthStatus.PROGRESSING, f"{total - updated} old replicas pending termination")
    if available < want:
        return Health(HealthStatus.PROGRESSING, f"{available} of {want} updated replicas available")
    return HEALTHY


def _statefulset(obj: dict[str, Any]) -> Health:
    if _generation_pending(obj):
        return Health(HealthStatus.PROGRESSING, "waiting for the controller to observe the new generation")
    want = (obj.get("spec") or {}).get("replicas", 1)
    status = obj.get("status") or {}
    if status.get("readyReplicas", 0) < want:
        return Health(HealthStatus.PROGRESSING, f"{status.get('readyReplicas', 0)} of {want} replicas ready")
    if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
        return Health(HealthStatus.PROGRESSING, "rolling update in progress")
    return HEALTHY


def _daemonset(obj: dict[str, Any]) -> Health:
    if _generation_pending(obj):
        return Health(HealthStatus.PROGRESSING, "waiting for the controller to observe the new generation")
    s = obj.get("status") or {}
    want = s.get("desiredNumberScheduled", 0)
    if s.get("updatedNumberScheduled", 0) < want or s.get("numberAvailable", 0) < want:
        return Health(HealthStatus.PROGRESSING, f"{s.get('numberAvailable', 0)} of {want} pods available")
    return HEALTHY


def _job(obj: dict[str, Any]) -> Health:
    conditions = _conditions(obj)
    if conditions.get("Failed", {}).get("status") == "True":
        return Health(HealthStatus.DEGRADED, f"job failed: {conditions['Failed'].get('message', '')}")
    if conditions.get("Complete", {}).get("status") == "True":
        return HEALTHY
    return Health(HealthStatus.PROGRESSING, "job running")


def _crd(obj: dict[str, Any]) -> Health:
    if _conditions(obj).get("Established", {}).get("status") == "True":
        return HEALTHY
    return Health(HealthStatus.PROGRESSING, "not Established yet")


def _generic(obj: dict[str, Any]) -> Health:
    ready = _conditions(obj).get("Ready")
    if ready is None or ready.get("status") == "True":
        return HEALTHY
    message = ready.get("message") or ready.get("reason") or "not Ready"
    return Health(HealthStatus.DEGRADED if ready.get("status") == "False" else HealthStatus.PROGRESSING, message)


_BY_KIND = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("batch", "Job"): _job,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}


def assess(obj: dict[str, Any]) -> Health:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return _BY_KIND.get((group, str(obj.get("kind", ""))), _generic)(obj)


def needs_watching(group: str, kind: str) -> bool:
    """Kinds whose health can change after apply; everything else is healthy once the apply succeeded."""
    return (group, kind) in _BY_KIND or group not in (
        "",
        "rbac.authorization.k8s.io",
        "networking.k8s.io",
        "policy",
        "storage.k8s.io",
        "scheduling.k8s.io",
    )


def health_of(objects: Mapping[ObjectKey, dict[str, Any]], keys: Iterable[ObjectKey]) -> dict[ObjectKey, Health]:
    """Watched objects among `keys` that are not healthy in `objects` (a missing one is still progressing)."""
    out: dict[ObjectKey, Health] = {}
    for key in keys:
        if not needs_watching(key.group, key.kind):
            continue
        obj = objects.get(key)
        health = assess(obj) if obj is not None else Health(HealthStatus.PROGRESSING, "not found")
        if health.status != HealthStatus.HEALTHY:
            out[key] = health
    return out
