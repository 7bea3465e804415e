#!/usr/bin/env python3
"""Preview of a chart's version bump across the generated 15,000-cluster fleet, against `helm template` run once
per release for the same releases.

The fleet is fleetgen's (6 regions, 60 spokes, 15,000 customer clusters, the example fleet's templates) plus one
template, templates/cluster/agent.yaml.j2, that declares a HelmChart from an HTTP chart repository on loopback
(smallchart.py) once per customer cluster: 15,000 releases, each with its own name space and values. One commit
bumps `version:` from 1.0.0 to 1.1.0 (new image tag, one more label); razee's preview (`razee diff --from HEAD~1
--to HEAD`, razee.preview.run.preview_revisions) renders both versions of every release, gates and diffs them.
Cold: nothing cached (a fresh source cache); warm: the same preview again (renders found in the cache folder).
--pin declares each version's digest (spec.digest), which lets razee take the archive from its cache by digest
instead of asking the repository for every release. Wall and CPU seconds are both printed: CPU seconds (this
process, its render workers and their helm processes) say what the work costs on a shared, loaded machine.

Target (issue 26): under 120 s on 2 cores. The peer: `helm template` of the pulled chart archive (no repository
round trip, which favours the peer), once per release and version; a sample of --sample releases is measured and
extrapolated to all 2 x 15,000 renders (the output says so).
Usage: .venv/bin/python scripts/bench/helm_fleet_preview.py [--spokes-per-region 10] [--clusters-per-spoke 250]
       [--sample 50] [--pin]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import git

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleetgen import generate
from smallchart import KUBE_VERSION, REPO, VERSIONS, ChartRepo, CpuMeter, helm, load_average, use_test_tools

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
PIN  values:
    clusterId: {{ cluster.name | tojson }}
    replicas: {{ cluster.worker_pools | length }}
"""


def declare(root: Path, chart_repo: ChartRepo, version: str, pin: bool) -> None:
    digest = f"  digest: {chart_repo.digest(version)}\n" if pin else ""
    text = TEMPLATE.replace("REPO_URL", chart_repo.url).replace("VERSION", version).replace("PIN", digest)
    (root / "templates" / "cluster" / "agent.yaml.j2").write_text(text)


def commit(repo: git.Repo, message: str) -> None:
    repo.git.add(A=True)
    repo.index.commit(message, author=ACTOR, committer=ACTOR)


def timed_preview(root: Path) -> tuple[float, float, dict[str, int], int]:
    """Wall seconds, CPU seconds (this process, its render workers and their helm processes), the summary, and
    how many of the releases' Deployments the preview shows changed."""
    from razee.preview.run import preview_revisions
    from razee.reconcile.load import Selection

    meter = CpuMeter().start()
    t0 = time.perf_counter()
    preview = preview_revisions(str(root), "HEAD~1", "HEAD", Selection())
    elapsed = time.perf_counter() - t0
    cpu = meter.stop()
    changed_deployments = sum(
        1
        for sp in preview.spokes
        for c in sp.objects
        if c.key.kind == "Deployment" and c.key.name == "agent" and c.action == "changed"
    )
    return elapsed, cpu, preview.summary(), changed_deployments


def peer(chart_repo: ChartRepo, clusters: list[str], tmp: Path) -> tuple[float, float]:
    """`helm template` of each version's archive for each sampled release: wall and CPU seconds for them all."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    for name in clusters:
        values = tmp / "values.json"
        values.write_text(json.dumps({"clusterId": name, "replicas": 1}))
        for version in VERSIONS:
            helm(
                "template",
                "agent",
                str(chart_repo.archives[version]),
                "--namespace",
                f"master-{name}",
                "--kube-version",
                KUBE_VERSION,
                "--values",
                str(values),
                home=tmp / "peerhome",
            )
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spokes-per-region", type=int, default=10)
    ap.add_argument("--clusters-per-spoke", type=int, default=250)
    ap.add_argument("--sample", type=int, default=50, help="releases `helm template` renders (both versions)")
    ap.add_argument(
        "--pin",
        action="store_true",
        help="declare the chart's digest (spec.digest): razee pulls it once, then finds it in its cache by digest",
    )
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
            declare(root, chart_repo, VERSIONS[0], args.pin)
            commit(repo, "agent chart 1.0.0 on every customer cluster")
            declare(root, chart_repo, VERSIONS[1], args.pin)
            commit(repo, "agent chart 1.0.0 -> 1.1.0")
            releases = 6 * args.spokes_per_region * args.clusters_per_spoke
            print(
                f"{releases} releases (one per customer cluster, {6 * args.spokes_per_region} spokes); "
                f"previewing the bump {VERSIONS[0]} -> {VERSIONS[1]}; digest pinned: {args.pin}",
                flush=True,
            )
            cold, cold_cpu, summary, deployments = timed_preview(root)
            print(f"razee preview, cold: {cold:7.1f} s, {cold_cpu:7.1f} CPU s  {summary}", flush=True)
            warm, warm_cpu, _, _ = timed_preview(root)
            print(f"razee preview, warm: {warm:7.1f} s, {warm_cpu:7.1f} CPU s", flush=True)
            sample = [f"sample-c{i:05d}" for i in range(min(args.sample, releases))]
            helm_s, helm_cpu = peer(chart_repo, sample, tmp)
        finally:
            chart_repo.close()
    per_release = helm_s / len(sample)
    extrapolated = per_release * releases
    extrapolated_cpu = helm_cpu / len(sample) * releases
    print()
    print(f"load average at end: {load_average()}")
    print(
        f"releases: {releases}; Deployments the preview shows changed: {deployments} "
        f"(every release: {'yes' if deployments == releases else 'NO'})"
    )
    print(
        f"helm template, both versions, measured on {len(sample)} releases: {helm_s:6.2f} s "
        f"({per_release * 1000:.0f} ms a release for 2 renders), {helm_cpu:.2f} CPU s"
    )
    print(
        f"helm template extrapolated to {releases} releases x 2 versions: {extrapolated:7.1f} s, "
        f"{extrapolated_cpu:7.1f} CPU s (sample x {releases / len(sample):.0f}, one process at a time)"
    )
    print(
        f"razee preview cold: {cold:7.1f} s (target < 120 s: {'met' if cold < 120 else 'MISSED'}), "
        f"{cold_cpu:7.1f} CPU s  helm/razee = {extrapolated / cold:5.1f}x wall, "
        f"{extrapolated_cpu / cold_cpu:5.1f}x CPU (target >= 5x)"
    )
    print(
        f"razee preview warm: {warm:7.1f} s, {warm_cpu:7.1f} CPU s  helm/razee = {extrapolated / warm:5.1f}x wall, "
        f"{extrapolated_cpu / warm_cpu:5.1f}x CPU"
    )


if __name__ == "__main__":
    main()
