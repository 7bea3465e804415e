#!/usr/bin/env python3
"""What sources cost a pass: the example spoke us-south-spoke-1 with its two sources (the armada-metrics chart and
the armada-dashboards kustomization) against the same spoke with the two source templates removed, measured in the
same run on one real kube-apiserver.

Per side: a pass without the render cache (render, expand, gate, plan) and the median of idle passes with it (the
agent's case: the cached render is used while the chart's folder and the server's capabilities are unchanged; the
capabilities are read again each pass). Printed: milliseconds, API requests, and the ratio with sources / without.
Usage: .venv/bin/python scripts/bench/sources_pass.py [--passes 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from razee.reconcile.flow import ApplyMode, Intent, reconcile  # noqa: E402
from razee.reconcile.plan import PassOptions, Target  # noqa: E402
from razee.render.cache import MemoryRenderCache  # noqa: E402
from razee.sources.expand import SourceOptions  # noqa: E402

SPOKE = "us-south-spoke-1"
SOURCE_TEMPLATES = ("templates/spoke/metrics.yaml.j2", "templates/spoke/dashboards.yaml.j2")


def fleet_copy(dest: Path, with_sources: bool) -> Path:
    for part in ("environments", "templates", "charts", "kustomize"):
        shutil.copytree(REPO / part, dest / part)
    if not with_sources:
        for rel in SOURCE_TEMPLATES:
            (dest / rel).unlink()
    return dest


def measure(root: Path, kubeconfig: str, options: PassOptions, passes: int) -> tuple[float, float, int]:
    """(median pass ms without the render cache, median idle pass ms, requests of an idle pass), after an apply."""
    target = Target(SPOKE, kubeconfig)
    applied = reconcile(root, target, options, Intent(ApplyMode.ALWAYS))
    assert applied.ok, applied.error
    colds = []
    for _ in range(3):
        started = time.perf_counter()
        reconcile(root, target, options, Intent(ApplyMode.NEVER))
        colds.append((time.perf_counter() - started) * 1000)
    cold = statistics.median(colds)
    cache = MemoryRenderCache()
    reconcile(root, target, options, Intent(ApplyMode.CHANGES, applied_before=True), cache)
    times, requests = [], 0
    for _ in range(passes):
        started = time.perf_counter()
        result = reconcile(root, target, options, Intent(ApplyMode.CHANGES, applied_before=True), cache)
        times.append((time.perf_counter() - started) * 1000)
        assert result.outcome == "in-sync", result.outcome
        requests = result.requests
    return cold, statistics.median(times), requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=7)
    args = parser.parse_args()
    testenv = [sys.executable, str(REPO / "scripts" / "testenv")]
    tools = subprocess.run([*testenv, "path"], check=True, capture_output=True, text=True).stdout.split()[-1]
    os.environ["PATH"] = f"{tools}:{os.environ['PATH']}"  # helm and kustomize
    with tempfile.TemporaryDirectory(prefix="razee-bench-sources-") as tmp:
        rows = {}
        for name, with_sources in (("without sources", False), ("with sources", True)):
            cluster = f"bench-sources-{'with' if with_sources else 'without'}"
            kubeconfig = subprocess.run(
                [*testenv, "start", cluster], check=True, capture_output=True, text=True
            ).stdout.split()[-1]
            try:
                root = fleet_copy(Path(tmp) / cluster, with_sources)
                options = PassOptions(infra=False, sources=SourceOptions(Path(tmp) / "sources"))
                rows[name] = measure(root, kubeconfig, options, args.passes)
            finally:
                subprocess.run([*testenv, "stop", cluster], capture_output=True)
    for name, (cold, idle, requests) in rows.items():
        print(f"{name:16} pass without render cache {cold:7.0f} ms   idle pass {idle:6.0f} ms, {requests} requests")
    (cold_a, idle_a, _), (cold_b, idle_b, _) = rows["with sources"], rows["without sources"]
    print(f"with / without: pass without render cache {cold_a / cold_b:.2f}x, idle pass {idle_a / idle_b:.2f}x")


if __name__ == "__main__":
    main()
