"""Health rules on object shapes the controllers write."""

from __future__ import annotations

from razee.kube.health import HealthStatus, assess


def test_deployment_states() -> None:
    base = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 3}}
    assert assess({**base, "status": {"observedGeneration": 1}}).status == HealthStatus.PROGRESSING
    partial = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}
    h = assess({**base, "status": partial})
    assert h.status == HealthStatus.PROGRESSING and h.reason == "1 of 3 updated replicas available"
    done = {**partial, "availableReplicas": 3}
    assert assess({**base, "status": done}).status == HealthStatus.HEALTHY
    stuck = {
        **partial,
        "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"}
        ],
    }
    assert assess({**base, "status": stuck}).status == HealthStatus.DEGRADED


def test_job_crd_and_custom_resources() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job"}
    assert assess({**job, "status": {"conditions": [{"type": "Failed", "status": "True"}]}}).status == "degraded"
    assert assess({**job, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}).status == "healthy"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}
    assert assess(crd).status == HealthStatus.PROGRESSING
    cr = {"apiVersion": "example.com/v1", "kind": "Widget"}
    assert assess(cr).status == HealthStatus.HEALTHY  # reports no Ready condition: nothing to wait for
    not_ready = {**cr, "status": {"conditions": [{"type": "Ready", "status": "False", "message": "bad spec"}]}}
    h = assess(not_ready)
    assert h.status == HealthStatus.DEGRADED and h.reason == "bad spec"
