#!/usr/bin/env python3
"""Infrastructure benchmark: plan and apply one 250-cluster spoke (about 1,000 workers) on the local provider
with zero provisioning delay. Prints plan time, apply throughput, and the no-op re-plan time.
Usage: .venv/bin/python scripts/bench/infra.py [--concurrency 8] [--latency 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleetgen import generate

from razee.fleet.loader import load_fleet
from razee.infra.executor import ExecOptions, apply_infra
from razee.infra.local import LocalCloud
from razee.infra.model import DesiredCluster
from razee.infra.planner import plan_infra

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--latency", type=float, default=0.0, help="simulated seconds per provider request")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "fleet", REPO, spokes_per_region=1, clusters_per_spoke=250)
        fleet = load_fleet(root)
        view = next(fleet.spokes())
        desired = [DesiredCluster.from_fleet(c) for c in view.clusters]
        workers = sum(p.size_per_zone * len(p.zones) for d in desired for p in d.pools)
        cloud = LocalCloud({"db": str(Path(tmp) / "cloud.sqlite"), "delay": "0", "latency": str(args.latency)})
        try:
            t0 = time.perf_counter()
            plan = plan_infra(view.spoke.name, "local", desired, cloud.observe([d.name for d in desired],
                                                                               view.spoke.name))
            plan_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            result = apply_infra(cloud, plan, ExecOptions(concurrency=args.concurrency))
            apply_s = time.perf_counter() - t0
            assert result.ok, result.failed[:3]
            t0 = time.perf_counter()
            again = plan_infra(view.spoke.name, "local", desired, cloud.observe([d.name for d in desired],
                                                                                view.spoke.name))
            noop_s = time.perf_counter() - t0
        finally:
            cloud.close()
    print(f"spoke {view.spoke.name}: {len(desired)} clusters, {workers} workers")
    print(f"plan from empty: {plan_s * 1000:.0f} ms ({len(plan.changes)} changes)")
    print(f"apply: {apply_s:.2f} s, {len(result.done) / apply_s:,.0f} changes/s "
          f"(concurrency {args.concurrency}, provider latency {args.latency * 1000:.0f} ms)")
    print(f"no-op re-plan (observe + plan): {noop_s * 1000:.0f} ms, {len(again.changes)} changes")


if __name__ == "__main__":
    main()
