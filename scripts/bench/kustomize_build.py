#!/usr/bin/env python3
"""Kustomization build benchmark: a Kustomization in a cluster-scoped template, 250 customer clusters on one spoke
choosing among the overlays of tests/data/kustomize: razee's expander cold (a first pass with nothing cached: one
`kustomize build` per distinct overlay, the other clusters find it by digest) and warm (a second pass: only the
walk and digest), against the `kustomize build` CLI run once per cluster in the same run.

There is no numeric target in issue 26 for kustomize; this shows what the digest-keyed build cache buys.
Usage: .venv/bin/python scripts/bench/kustomize_build.py [--clusters 250]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from razee.objects import Manifest, Provenance  # noqa: E402
from razee.sources.cache import SourceCache  # noqa: E402
from razee.sources.expander import Capabilities, ExpandContext  # noqa: E402
from razee.sources.kustomize import KustomizeExpander, expander  # noqa: E402

FLEET = REPO / "tests" / "data" / "kustomize"
OVERLAYS = ("overlays/eu", "overlays/us", "overlays/fifo")


def declaration(path: str, cluster: str) -> Manifest:
    obj = {
        "apiVersion": "razee.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "platform"},
        "spec": {"path": path},
    }
    return Manifest(obj, Provenance("templates/cluster/platform.yaml", 1, 1, cluster=cluster))


def razee_pass(clusters: int, ctx: ExpandContext) -> float:
    started = time.perf_counter()
    for i in range(clusters):
        KustomizeExpander().expand(declaration(OVERLAYS[i % len(OVERLAYS)], f"c{i}"), ctx)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=250)
    args = parser.parse_args()
    kustomize = shutil.which("kustomize")
    if not kustomize:
        print('kustomize is not on PATH (export PATH="$(scripts/testenv path):$PATH")', file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="razee-bench-kustomize-") as tmp:
        ctx = ExpandContext(
            repo=FLEET,
            spoke="spoke-1",
            cluster=None,
            capabilities=Capabilities("v1.36.3"),
            cache=SourceCache(Path(tmp)),
        )
        expander._builds.clear()
        cold = razee_pass(args.clusters, ctx)
        warm = razee_pass(args.clusters, ctx)
    started = time.perf_counter()
    for i in range(args.clusters):
        subprocess.run([kustomize, "build", str(FLEET / OVERLAYS[i % len(OVERLAYS)])], capture_output=True, check=True)
    cli = time.perf_counter() - started
    print(f"{args.clusters} clusters, {len(OVERLAYS)} overlays")
    print(f"  kustomize build CLI per cluster: {cli:.2f} s")
    print(f"  razee cold (first pass):         {cold:.2f} s  ({cli / cold:.1f}x the CLI)")
    print(f"  razee warm (next pass):          {warm:.2f} s  ({cli / warm:.1f}x the CLI)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
