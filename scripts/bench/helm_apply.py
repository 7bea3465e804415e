#!/usr/bin/env python3
"""1,000 releases of a small chart applied to one real cluster, then a no-op pass, against Flux's published figure
and `helm install` measured in the same run.

The fleet has one spoke, `bench`, whose template declares --releases HelmChart objects (smallchart.py's `agent`
chart, 4 objects a release: ServiceAccount, ConfigMap, Service, Deployment) from an HTTP chart repository on
loopback, each release with its own name and values, all in namespace `bench`. razee runs as a user runs it:
`razee apply -q` (a process per pass) against a fresh cluster of scripts/testenv (kube-apiserver, etcd,
controller-manager, scheduler, kwok: Deployments get Pods that run).
- first apply: nothing cached (a fresh source cache, RAZEE_NO_CACHE=1: every release is pulled and rendered);
- no-op pass, warm: `razee apply` again with nothing changed (the render and source caches kept, as an agent's
  next pass has them); no-op pass, cold: the same with nothing cached (a new process on a new machine).
API writes of each pass are counted by the apiserver (`apiserver_request_total` for the kinds razee writes:
mutating verbs, not dry runs, the main resource; the target is 0), next to razee's own summary line.

Targets (issue 26): first apply under 2 minutes, no-op pass under 10 s, on 2 cores. Peers: Flux 2.6's published
flux-benchmark figure (8 m 12 s for 1,000 HelmReleases on 16 cores), printed as published, not measured here; and
`helm install` (no --wait: helm's default, like razee apply without --wait) of --sample releases, one after
another, into a second fresh cluster in the same run, extrapolated to --releases.
--pin declares the chart's digest, so razee takes the archive from its cache instead of asking the repository
once per release.
Usage: RAZEE_TESTENV_DIR=... .venv/bin/python scripts/bench/helm_apply.py [--releases 1000] [--sample 30] [--pin]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smallchart import REPO, VERSIONS, ChartRepo, helm, load_average, use_test_tools

PY = sys.executable
TESTENV = [PY, str(REPO / "scripts" / "testenv")]
CLUSTERS = ("srcbench-razee", "srcbench-helm")
FLUX_PUBLISHED = "Flux 2.6, flux-benchmark (published): 1,000 HelmReleases in 8 m 12 s (492 s) on 16 cores"
FLUX_S = 492.0
WRITTEN = {"namespaces", "serviceaccounts", "configmaps", "services", "deployments"}
"""The kinds razee writes here (the chart's, the namespace, the inventory's ConfigMaps)."""

TEMPLATE = """\
apiVersion: v1
kind: Namespace
metadata: {name: bench}
{% for i in range(values.releases) %}
---
apiVersion: razee.io/v1
kind: HelmChart
metadata: {name: "agent-{{ '%04d' % i }}", namespace: bench}
spec:
  repo: {{ values.chartRepo }}
  chart: agent
  version: {{ values.chartVersion }}
{% if values.chartDigest %}
  digest: {{ values.chartDigest }}
{% endif %}
  values: {clusterId: "c{{ '%04d' % i }}"}
{% endfor %}
"""


def write_fleet(root: Path, releases: int, chart_repo: str, digest: str = "") -> None:
    (root / "environments" / "regions").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "spoke").mkdir(parents=True, exist_ok=True)
    fleet = {
        "name": "bench",
        "clusterDefaults": {"kubeVersion": "1.36.3"},
        "rollout": {"waves": [{"name": "all"}]},
        # the benchmark measures sources and the engine; its namespace carries no NetworkPolicies
        "policies": {"allowedRegistries": ["icr.io/*"], "rules": {"namespace-network-policy": {"enabled": False}}},
        "values": {"releases": releases, "chartRepo": chart_repo, "chartVersion": VERSIONS[0], "chartDigest": digest},
    }
    region = {"name": "local", "zones": ["z1"], "spokes": [{"name": "bench", "wave": "all"}]}
    (root / "environments" / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    (root / "environments" / "regions" / "local.yaml").write_text(yaml.safe_dump(region))
    (root / "templates" / "spoke" / "agents.yaml.j2").write_text(TEMPLATE)


def children_cpu() -> float:
    """CPU seconds of the child processes waited for so far (razee, helm, and what they started and waited for)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed, proc


def kubectl(kc: str, *args: str) -> str:
    return run(["kubectl", "--kubeconfig", kc, *args])[1].stdout


def server_writes(kc: str) -> int:
    """Mutating requests the apiserver has served on the main resource of the kinds razee writes, so far."""
    total = 0
    for line in kubectl(kc, "get", "--raw", "/metrics").splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if (
            labels.get("verb") in {"POST", "PUT", "PATCH", "APPLY", "DELETE"}
            and labels.get("dry_run", "") == ""
            and labels.get("resource") in WRITTEN
            and labels.get("subresource", "") == ""
        ):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def razee_pass(root: Path, kc: str, cache: Path, cold: bool) -> tuple[float, str, int]:
    """`razee apply -q` as a new process: seconds, its summary line, and the API requests it says it made."""
    env = dict(os.environ, TMPDIR=str(cache))
    if cold:
        env["RAZEE_NO_CACHE"] = "1"
    elapsed, proc = run(
        [PY, "-m", "razee", "apply", "-q", "--repo", str(root), "--spoke", "bench", "--kubeconfig", kc], env
    )
    out = proc.stdout + proc.stderr
    summary = next((ln for ln in out.splitlines() if "kubernetes: applied" in ln), out.strip()[-300:])
    requests = sum(int(n) for n in re.findall(r"\((\d+) API requests", out))
    return elapsed, summary, requests


def testenv_pids() -> list[int]:
    state_dir = Path(os.environ.get("RAZEE_TESTENV_DIR", REPO / ".testenv"))
    state = json.loads((state_dir / "state.json").read_text())
    pids = [state["etcd"]["pid"]] if state.get("etcd") else []
    for name in CLUSTERS:
        cluster = state["clusters"].get(name, {})
        pids += [p for p in (cluster.get(role) for role in ("pid", "cm_pid", "sched_pid", "kwok_pid")) if p]
    return pids


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(limit: float = 300.0, quiet: float = 0.2) -> float:
    """Wait until etcd and the clusters use under `quiet` CPU s per second twice running (the controllers turn
    1,000 Deployments into ReplicaSets and Pods after an apply): the next step does not pay for it."""
    pids = testenv_pids()
    t0 = time.perf_counter()
    calm, last = 0, cpu_seconds(pids)
    while calm < 2 and time.perf_counter() - t0 < limit:
        time.sleep(1.0)
        now = cpu_seconds(pids)
        calm = calm + 1 if now - last < quiet else 0
        last = now
    return time.perf_counter() - t0


def helm_installs(chart: Path, kc: str, count: int, tmp: Path) -> float:
    """`helm install` of `count` releases into namespace bench of the peer's cluster, one after another."""
    os.environ["BENCH_KUBECONFIG"] = kc
    kubectl(kc, "create", "namespace", "bench")
    t0 = time.perf_counter()
    for i in range(count):
        helm(
            "install",
            f"agent-{i:04d}",
            str(chart),
            "--namespace",
            "bench",
            "--set",
            f"clusterId=c{i:04d}",
            home=tmp / "peerhome",
        )
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--releases", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=30, help="releases `helm install` installs (extrapolated)")
    ap.add_argument(
        "--pin",
        action="store_true",
        help="declare the chart's digest (spec.digest): razee pulls it once, then finds it in its cache by digest",
    )
    args = ap.parse_args()
    use_test_tools()
    run([*TESTENV, "stop", *CLUSTERS])  # drops their etcd keys: the clusters start empty
    _, started = run([*TESTENV, "start", *CLUSTERS])
    kc_razee, kc_helm = started.stdout.split()[-2:]
    try:
        with tempfile.TemporaryDirectory(prefix="razee-bench-") as tmp_name:
            tmp = Path(tmp_name)
            chart_repo = ChartRepo(tmp / "chartrepo")
            try:
                measure(args, tmp, chart_repo, kc_razee, kc_helm)
            finally:
                chart_repo.close()
    finally:
        run([*TESTENV, "stop", *CLUSTERS])


def measure(args: argparse.Namespace, tmp: Path, chart_repo: ChartRepo, kc_razee: str, kc_helm: str) -> None:
    root = tmp / "fleet"
    write_fleet(root, args.releases, chart_repo.url, chart_repo.digest(VERSIONS[0]) if args.pin else "")
    n = args.releases
    settle()
    print(f"{n} releases x 4 objects; load average at start: {load_average()}; {os.cpu_count()} cores", flush=True)
    results: dict[str, tuple[float, str, int, int]] = {}
    servers = testenv_pids()
    for case, cache, cold in (
        ("first apply (cold)", tmp / "cache-1", True),
        ("no-op pass, warm", tmp / "cache-1", False),
        ("no-op pass, cold", tmp / "cache-2", True),
    ):
        cache.mkdir(exist_ok=True)
        before = server_writes(kc_razee)
        cpu0, server0 = children_cpu(), cpu_seconds(servers)
        elapsed, summary, requests = razee_pass(root, kc_razee, cache, cold)
        cpu, server_cpu = children_cpu() - cpu0, cpu_seconds(servers) - server0
        served = server_writes(kc_razee) - before
        results[case] = (elapsed, summary, requests, served)
        print(
            f"razee {case:<20} {elapsed:7.2f} s  ({cpu:.1f} CPU s razee, {server_cpu:.1f} CPU s apiservers+etcd+"
            f"controllers)  {requests} API requests, {served} writes (apiserver's count)  | {summary.strip()}",
            flush=True,
        )
        settle()
    deployments = kubectl(kc_razee, "get", "deployments", "-n", "bench", "-o", "name").split()
    sample = min(args.sample, n)
    cpu0 = children_cpu()
    helm_s = helm_installs(chart_repo.archives[VERSIONS[0]], kc_helm, sample, tmp)
    helm_cpu = children_cpu() - cpu0
    extrapolated = helm_s / sample * n
    first, noop_warm, noop_cold = (results[c][0] for c in results)
    print()
    print(f"load average at end: {load_average()}; Deployments in the cluster: {len(deployments)} (of {n})")
    print(f"razee first apply:  {first:7.2f} s (target < 120 s: {'met' if first < 120 else 'MISSED'})")
    print(
        f"razee no-op, warm:  {noop_warm:7.2f} s (target < 10 s: {'met' if noop_warm < 10 else 'MISSED'}); "
        f"API writes {results['no-op pass, warm'][3]} (apiserver's count, target 0)"
    )
    print(f"razee no-op, cold:  {noop_cold:7.2f} s; API writes {results['no-op pass, cold'][3]}")
    print(f"{FLUX_PUBLISHED}: flux/razee first apply = {FLUX_S / first:.1f}x (different machines: published figure)")
    print(
        f"helm install, measured on {sample} releases one after another: {helm_s:6.2f} s "
        f"({helm_s / sample:.2f} s a release, {helm_cpu / sample:.2f} CPU s of helm a release); "
        f"extrapolated to {n}: {extrapolated:7.1f} s "
        f"(sample x {n / sample:.0f}); helm/razee first apply = {extrapolated / first:.1f}x"
    )


if __name__ == "__main__":
    main()
