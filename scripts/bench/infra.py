#!/usr/bin/env python3
"""Infrastructure benchmark: plan and apply one 250-cluster spoke (about 1,000 workers) from empty, then re-plan.

Providers:
- `local`: the simulated cloud with zero provisioning delay (the engine's own cost);
- `aws`: the aws provider against moto's EC2 server on loopback, started here (moto[server] from the dev extra).
  The emulator answers in microseconds and never throttles, so the aws numbers are an upper bound on what the
  provider and executor can do, not AWS's speed; the request counts carry over to AWS as they are.

Prints, per provider: plan time, apply throughput (changes per second), and the cost of a no-op re-plan
(observe + plan: wall time and, for aws, API requests).
Usage: .venv/bin/python scripts/bench/infra.py [--provider local|aws|all] [--concurrency 8] [--latency 0]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleetgen import FLAVORS, REGION_ZONES, generate

from razee.fleet.fleet import SpokeView
from razee.fleet.loader import load_fleet
from razee.infra.executor import ExecOptions, apply_infra
from razee.infra.local import LocalCloud
from razee.infra.model import DesiredCluster
from razee.infra.planner import plan_infra
from razee.infra.provider import Provider, ProviderContext

REPO = Path(__file__).resolve().parents[2]
INSTANCE_TYPES = dict(zip(FLAVORS, ["m5.xlarge", "c5.large", "r5.2xlarge", "c5.4xlarge"], strict=True))


@contextmanager
def moto_server(log: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"{url}/moto-api/", timeout=2).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"moto_server did not start; see {log}") from None
                    time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def aws_cloud(url: str, fleet_name: str, view: SpokeView) -> Provider:
    from razee.infra.aws.cloud import AwsCloud
    from razee.infra.aws.settings import AwsSettings

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIABENCHMARK0000000")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench-not-a-secret")
    zones = REGION_ZONES[view.region.name]
    settings = AwsSettings(
        region="us-east-1",
        zones={z: f"us-east-1{'abc'[i]}" for i, z in enumerate(zones)},
        flavors=INSTANCE_TYPES,
        image="ami-12c6146b",
        endpoint_url=url,
    )
    flavors = tuple(sorted({p.flavor for c in view.clusters for p in c.worker_pools}))
    return AwsCloud(settings, ProviderContext(fleet_name, view.region.name, settings, {}, tuple(zones), flavors))


def count_requests(cloud: Provider) -> Counter[str]:
    """API requests the provider makes, by operation (each Describe page is one)."""
    seen: Counter[str] = Counter()

    def tick(model: Any, **_: Any) -> None:
        seen[model.name] += 1

    for client in (cloud.read, cloud.write):  # type: ignore[attr-defined]
        client.meta.events.register("before-call.ec2", tick)
    return seen


def bench(name: str, cloud: Provider, view: SpokeView, concurrency: int, latency: float) -> None:
    desired = [DesiredCluster.from_fleet(c) for c in view.clusters]
    workers = sum(p.size_per_zone * len(p.zones) for d in desired for p in d.pools)
    requests = count_requests(cloud) if name == "aws" else Counter[str]()
    t0 = time.perf_counter()
    plan = plan_infra(view.spoke.name, name, desired, cloud.observe([d.name for d in desired], view.spoke.name))
    plan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = apply_infra(cloud, plan, ExecOptions(concurrency=concurrency))
    apply_s = time.perf_counter() - t0
    assert result.ok, (result.failed[:3], result.stopped)
    applied_requests = sum(requests.values())
    requests.clear()
    t0 = time.perf_counter()
    actual = cloud.observe([d.name for d in desired], view.spoke.name)
    observe_s = time.perf_counter() - t0
    again = plan_infra(view.spoke.name, name, desired, actual)
    noop_s = time.perf_counter() - t0
    print(f"[{name}] spoke {view.spoke.name}: {len(desired)} clusters, {workers} workers")
    print(f"[{name}] plan from empty: {plan_s * 1000:.0f} ms ({len(plan.changes)} changes)")
    extra = f", {applied_requests:,} API requests" if name == "aws" else ""
    print(
        f"[{name}] apply: {apply_s:.2f} s, {len(result.done) / apply_s:,.0f} changes/s (concurrency {concurrency}"
        + (f", provider latency {latency * 1000:.0f} ms" if name == "local" else "")
        + f"{extra})"
    )
    cost = f", {sum(requests.values())} API requests ({dict(sorted(requests.items()))})" if name == "aws" else ""
    print(
        f"[{name}] no-op re-plan: {noop_s * 1000:.0f} ms (observe {observe_s * 1000:.0f} ms, plan "
        f"{(noop_s - observe_s) * 1000:.0f} ms), {len(again.changes)} changes{cost}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--provider", choices=["local", "aws", "all"], default="all")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--latency", type=float, default=0.0, help="simulated seconds per local provider request")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "fleet", REPO, spokes_per_region=1, clusters_per_spoke=250)
        fleet = load_fleet(root)
        view = next(fleet.spokes())
        if args.provider in ("local", "all"):
            cloud: Provider = LocalCloud(
                {"db": str(Path(tmp) / "cloud.sqlite"), "delay": "0", "latency": str(args.latency)}
            )
            try:
                bench("local", cloud, view, args.concurrency, args.latency)
            finally:
                cloud.close()
        if args.provider in ("aws", "all"):
            with moto_server(Path(tmp) / "moto.log") as url:
                cloud = aws_cloud(url, fleet.spec.name, view)
                try:
                    bench("aws", cloud, view, args.concurrency, 0.0)
                finally:
                    cloud.close()


if __name__ == "__main__":
    main()
