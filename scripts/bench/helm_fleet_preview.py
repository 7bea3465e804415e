#!/usr/bin/env python3
"""Preview of a chart's version bump across the generated 15,000-cluster fleet, against `helm template` run once
per release for the same releases.

The fleet is fleetgen's (6 regions, 60 spokes, 15,000 customer clusters, the example fleet's templates) plus one
template, templates/cluster/agent.yaml.j2, that declares a HelmChart from an HTTP chart repository on loopback
(smallchart.py) once per customer cluster: 15,000 releases, each with its own name space and values. One commit
bumps `version:` from 1.0.0 to 1.1.0 (new image tag, one more label); razee's preview (`razee diff --from HEAD~1
--to HEAD`, razee.preview.run.preview_revisions) renders both versions of every release, gates and diffs them.
Cold: nothing cached (a fresh source cache); warm: the same preview again (renders found in the cache folder).

Target (issue 26): under 120 s on 2 cores. The peer: `helm template` of the pulled chart archive (no repository
round trip, which favours the peer), once per release and version; a sample of --sample releases is measured and
extrapolated to all 2 x 15,000 renders (the output says so).
Usage: .venv/bin/python scripts/bench/helm_fleet_preview.py [--spokes-per-region 10] [--clusters-per-spoke 250]
       [--sample 50]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import git

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleetgen import generate
from smallchart import KUBE_VERSION, REPO, VERSIONS, ChartRepo, helm, load_average, use_test_tools

ACTOR = git.Actor("bench", "bench@example.com")

TEMPLATE = """\
{# bench: one release of the agent chart per customer cluster, in its master namespace #}
apiVersion: razee.io/v1
kind: HelmChart
metadata:
  name: agent
  namespace: master-{{ cluster.name }}
spec:
  repo: REPO_URL
  chart: agent
  version: VERSION
  values:
    clusterId: {{ cluster.name | tojson }}
    replicas: {{ cluster.worker_pools | length }}
"""


def declare(root: Path, url: str, version: str) -> None:
    text = TEMPLATE.replace("REPO_URL", url).replace("VERSION", version)
    (root / "templates" / "cluster" / "agent.yaml.j2").write_text(text)


def commit(repo: git.Repo, message: str) -> None:
    repo.git.add(A=True)
    repo.index.commit(message, author=ACTOR, committer=ACTOR)


def timed_preview(root: Path) -> tuple[float, dict[str, int], int]:
    from razee.preview.run import preview_revisions
    from razee.reconcile.load import Selection

    t0 = time.perf_counter()
    preview = preview_revisions(str(root), "HEAD~1", "HEAD", Selection())
    elapsed = time.perf_counter() - t0
    changed_deployments = sum(1 for sp in preview.spokes for c in sp.objects
                              if c.key.kind == "Deployment" and c.key.name == "agent" and c.action == "changed")
    return elapsed, preview.summary(), changed_deployments


def peer(chart_repo: ChartRepo, clusters: list[str], tmp: Path) -> float:
    """`helm template` of each version's archive for each sampled release; seconds for all of them."""
    t0 = time.perf_counter()
    for name in clusters:
        values = tmp / "values.json"
        values.write_text(json.dumps({"clusterId": name, "replicas": 1}))
        for version in VERSIONS:
            helm("template", "agent", str(chart_repo.archives[version]), "--namespace", f"master-{name}",
                 "--kube-version", KUBE_VERSION, "--values", str(values), home=tmp / "peerhome")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spokes-per-region", type=int, default=10)
    ap.add_argument("--clusters-per-spoke", type=int, default=250)
    ap.add_argument("--sample", type=int, default=50, help="releases `helm template` renders (both versions)")
    args = ap.parse_args()
    use_test_tools()
    print(f"load average at start: {load_average()}; {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="razee-bench-") as tmp_name:
        tmp = Path(tmp_name)
        # razee's source cache goes in the system temporary folder: a fresh one makes the first preview cold
        tempfile.tempdir = str(tmp / "systmp")
        os.makedirs(tempfile.tempdir)
        chart_repo = ChartRepo(tmp / "chartrepo")
        try:
            root = generate(tmp / "fleet", REPO, args.spokes_per_region, args.clusters_per_spoke)
            repo = git.Repo.init(root)
            declare(root, chart_repo.url, VERSIONS[0])
            commit(repo, "agent chart 1.0.0 on every customer cluster")
            declare(root, chart_repo.url, VERSIONS[1])
            commit(repo, "agent chart 1.0.0 -> 1.1.0")
            releases = 6 * args.spokes_per_region * args.clusters_per_spoke
            print(f"{releases} releases (one per customer cluster, {6 * args.spokes_per_region} spokes); "
                  f"previewing the bump {VERSIONS[0]} -> {VERSIONS[1]}", flush=True)
            cold, summary, deployments = timed_preview(root)
            print(f"razee preview, cold: {cold:7.1f} s  {summary}", flush=True)
            warm, _, _ = timed_preview(root)
            print(f"razee preview, warm: {warm:7.1f} s", flush=True)
            sample = [f"sample-c{i:05d}" for i in range(min(args.sample, releases))]
            helm_s = peer(chart_repo, sample, tmp)
        finally:
            chart_repo.close()
    per_release = helm_s / len(sample)
    extrapolated = per_release * releases
    print()
    print(f"load average at end: {load_average()}")
    print(f"releases: {releases}; Deployments the preview shows changed: {deployments} "
          f"(every release: {'yes' if deployments == releases else 'NO'})")
    print(f"helm template, both versions, measured on {len(sample)} releases: {helm_s:6.2f} s "
          f"({per_release * 1000:.0f} ms a release for 2 renders)")
    print(f"helm template extrapolated to {releases} releases x 2 versions: {extrapolated:7.1f} s "
          f"(sample x {releases / len(sample):.0f}, one process at a time)")
    print(f"razee preview cold: {cold:7.1f} s (target < 120 s: {'met' if cold < 120 else 'MISSED'})  "
          f"helm/razee = {extrapolated / cold:5.1f}x (target >= 5x)")
    print(f"razee preview warm: {warm:7.1f} s                              helm/razee = {extrapolated / warm:5.1f}x")


if __name__ == "__main__":
    main()
