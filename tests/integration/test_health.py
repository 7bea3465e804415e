"""`razee apply --wait` against real controllers (pods made Ready, or crash-looping for icr.io/fail/ images, by
the test clusters' kwok)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.engine import Fleet


def deployment(ns: str, image: str, deadline: int = 600) -> str:
    return f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 2
  progressDeadlineSeconds: {deadline}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: "{image}"
        resources: {{requests: {{cpu: 10m, memory: 16Mi}}, limits: {{cpu: 100m, memory: 64Mi}}}}
"""


def test_wait_succeeds_when_the_rollout_completes(tmp_path: Path, kubeconfig: str, namespace: str) -> None:
    fleet = Fleet(tmp_path, kubeconfig)
    fleet.write(deployment(namespace, "icr.io/web:1"))
    r = fleet.cli("apply", "-q", "--wait", "--timeout", "240")  # generous: a busy 2-core CI machine
    assert r.returncode == 0, r.stderr


def test_wait_names_what_is_not_healthy(tmp_path: Path, kubeconfig: str, namespace: str) -> None:
    fleet = Fleet(tmp_path, kubeconfig)
    fleet.write(deployment(namespace, "icr.io/fail/web:1", deadline=3))
    r = fleet.cli("apply", "-q", "--wait", "--timeout", "240")  # returns as soon as the rollout is stuck
    assert r.returncode == 1
    assert f"Deployment.apps {namespace}/web: degraded: rollout stuck" in r.stderr
