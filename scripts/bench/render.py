#!/usr/bin/env python3
"""Render benchmark: one spoke (250 clusters) and the whole generated fleet (60 spokes, 15,000 clusters).

Targets (issue 15, was issue 3's 1 s and 60 s): one spoke under 0.25 s in process, the whole fleet (load and
render, on every core) under 15 s on 2 cores. Prints objects/second and peak RSS.
Usage: .venv/bin/python scripts/bench/render.py [--spokes-per-region 10] [--clusters-per-spoke 250]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleetgen import generate

from razee.fleet.loader import load_fleet
from razee.render.parallel import workers
from razee.render.renderer import Renderer, render_spokes

REPO = Path(__file__).resolve().parents[2]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spokes-per-region", type=int, default=10)
    ap.add_argument("--clusters-per-spoke", type=int, default=250)
    ap.add_argument("--source", type=Path, default=REPO)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "fleet", args.source, args.spokes_per_region, args.clusters_per_spoke)
        t0 = time.perf_counter()
        fleet = load_fleet(root)
        load_s = time.perf_counter() - t0
        views = list(fleet.spokes())
        clusters = sum(len(v.clusters) for v in views)
        print(
            f"fleet: {len(fleet.regions)} regions, {len(views)} spokes, {clusters} clusters; "
            f"load + validate + schedule {load_s:.2f} s"
        )

        renderer = Renderer(root, fleet)
        t0 = time.perf_counter()
        one = renderer.render_spoke(views[0])
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        one = renderer.render_spoke(views[1])
        warm = time.perf_counter() - t0
        n = len(one.manifests)
        print(
            f"one spoke ({len(views[1].clusters)} clusters, {n} objects): {warm:.3f} s warm, {cold:.3f} s with "
            f"template compilation ({n / warm:,.0f} objects/s)  target < 0.25 s (issue 15): "
            f"{'PASS' if warm < 0.25 else 'FAIL'}"
        )

        t0 = time.perf_counter()
        total = sum(len(r.manifests) for r in render_spokes(root, fleet, views))
        whole = time.perf_counter() - t0
        print(
            f"whole fleet ({total:,} objects, {workers()} worker(s)): render {whole:.1f} s, load + render "
            f"{whole + load_s:.1f} s ({total / whole:,.0f} objects/s)  target < 15 s (issue 15): "
            f"{'PASS' if whole + load_s < 15 else 'FAIL'}"
        )
        print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
