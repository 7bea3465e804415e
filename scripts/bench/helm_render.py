#!/usr/bin/env python3
"""HelmChart render benchmark: one small chart used once per customer cluster (250 releases on one spoke), razee's
expander cold (nothing cached) and warm (the same releases again), against `helm template` run once per release in
the same run.

Targets (issue 26): cold under 3 s, warm under 0.5 s, and at least 5x faster than `helm template` per release.
razee renders each distinct release with helm's own `helm template` code (fidelity first): through
razee-helm-batch (scripts/helm-batch: many renders per process, no ~60 ms process start each) or, with
--no-batch, one helm process per release; and it caches renders by chart digest and inputs (warm).
Usage: .venv/bin/python scripts/bench/helm_render.py [--releases 250] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from razee.objects import Manifest, Provenance  # noqa: E402
from razee.sources.cache import SourceCache  # noqa: E402
from razee.sources.expander import Capabilities, ExpandContext  # noqa: E402
from razee.sources.helm import HelmExpander, rendercache  # noqa: E402

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: agent\nversion: 1.0.0\nappVersion: '2.1'\n",
    "values.yaml": "clusterId: none\nreplicas: 1\nimage: registry.example.com/agent:2.1\n",
    "templates/_helpers.tpl": '{{- define "agent.labels" -}}\napp: {{ .Chart.Name }}\n'
    "cluster: {{ .Values.clusterId }}\n{{- end -}}\n",
    "templates/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-agent\n"
        '  labels: {{- include "agent.labels" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicas }}\n'
        "  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n"
        "    spec: {containers: [{name: agent, image: {{ .Values.image | quote }}}]}\n"
    ),
    "templates/service.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata: {name: {{ .Release.Name }}-agent}\n"
        "spec: {ports: [{port: 443}], selector: {app: agent}}\n"
    ),
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-config}\n"
        "data: {cluster: {{ .Values.clusterId | quote }}}\n"
    ),
}


def write_chart(root: Path) -> None:
    for rel, text in CHART.items():
        (root / "charts/agent" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "charts/agent" / rel).write_text(text)


def decls(n: int) -> list[Manifest]:
    return [
        Manifest(
            {
                "apiVersion": "razee.io/v1",
                "kind": "HelmChart",
                "metadata": {"name": f"c{i:03d}", "namespace": f"cluster-c{i:03d}"},
                "spec": {"path": "charts/agent", "values": {"clusterId": f"c{i:03d}", "replicas": 1 + i % 3}},
            },
            Provenance("templates/cluster/agent.yaml", 1, 1, cluster=f"c{i:03d}"),
        )
        for i in range(n)
    ]


def run_razee(fleet: Path, cache: Path, all_decls: list[Manifest], workers: int) -> float:
    ctx = ExpandContext(fleet, "spoke-1", None, Capabilities("v1.36.3"), SourceCache(cache))
    expander = HelmExpander()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda d: expander.expand(d, ctx), all_decls))
    elapsed = time.perf_counter() - t0
    assert all(len(r.objects) == 3 for r in results)
    return elapsed


def run_helm(fleet: Path, tmp: Path, all_decls: list[Manifest]) -> float:
    helm = os.environ.get("RAZEE_HELM") or shutil.which("helm") or "helm"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp)}
    t0 = time.perf_counter()
    for d in all_decls:
        (tmp / "values.json").write_text(json.dumps(d.obj["spec"]["values"]))
        subprocess.run(
            [
                helm,
                "template",
                d.name,
                str(fleet / "charts/agent"),
                "--namespace",
                d.namespace,
                "--kube-version",
                "v1.36.3",
                "--values",
                str(tmp / "values.json"),
            ],
            check=True,
            capture_output=True,
            env=env,
        )
    return time.perf_counter() - t0


def batch_binary() -> str:
    """razee-helm-batch as scripts/helm-batch/build makes it (the engine razee uses for offline renders)."""
    out = subprocess.run(["bash", str(REPO / "scripts/helm-batch/build")], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def use_test_tools() -> None:
    """helm of the pinned version first on PATH (built by scripts/build-tools), for razee and the peer alike."""
    path = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "testenv"), "path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    os.environ["PATH"] = f"{path}:{os.environ.get('PATH', '')}"


def main() -> None:
    use_test_tools()
    ap = argparse.ArgumentParser()
    ap.add_argument("--releases", type=int, default=250)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-batch", action="store_true", help="razee with one helm process per release")
    args = ap.parse_args()
    os.environ["RAZEE_HELM_BATCH"] = "off" if args.no_batch else os.environ.get("RAZEE_HELM_BATCH") or batch_binary()
    with tempfile.TemporaryDirectory() as tmp:
        fleet = Path(tmp) / "fleet"
        write_chart(fleet)
        all_decls = decls(args.releases)
        helm_s = run_helm(fleet, Path(tmp), all_decls)
        rendercache._renders.clear()
        cold = run_razee(fleet, Path(tmp) / "cache", all_decls, args.workers)
        warm = run_razee(fleet, Path(tmp) / "cache", all_decls, args.workers)
        rendercache._renders.clear()
        disk = run_razee(fleet, Path(tmp) / "cache", all_decls, args.workers)
    n = args.releases
    engine = "one helm process per release" if args.no_batch else "razee-helm-batch"
    print(f"{n} releases of one small chart, {args.workers} workers, razee renders with {engine}")
    print(f"helm template, once per release: {helm_s:7.2f} s  ({helm_s / n * 1000:.1f} ms/release)")
    print(f"razee cold:                      {cold:7.2f} s  (target < 3 s)   helm/razee = {helm_s / cold:6.1f}x")
    print(f"razee warm (in memory):          {warm:7.2f} s  (target < 0.5 s) helm/razee = {helm_s / warm:6.1f}x")
    print(f"razee warm (new process, disk):  {disk:7.2f} s                   helm/razee = {helm_s / disk:6.1f}x")


if __name__ == "__main__":
    main()
