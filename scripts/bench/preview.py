#!/usr/bin/env python3
"""Revision preview on the generated 15,000-cluster fleet: three commits against two full renders.

Cases: a value change in one region, a change to a template every cluster uses, and a commit that touches no
fleet file. Targets (issue 10): the one-region change at least 5x faster than two full renders; the no-op commit
under 2 s. "Two full renders" is the same preview with the shortcut switched off (both revisions, every spoke).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import git
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleetgen import generate

from razee.preview.run import preview_revisions
from razee.reconcile.load import Selection

REPO = Path(__file__).resolve().parents[2]
ACTOR = git.Actor("bench", "bench@example.com")


def commit(repo: git.Repo, message: str) -> None:
    repo.git.add(A=True)
    repo.index.commit(message, author=ACTOR, committer=ACTOR)


def timed(root: Path, full: bool = False) -> tuple[float, dict[str, int]]:
    t0 = time.perf_counter()
    preview = preview_revisions(str(root), "HEAD~1", "HEAD", Selection(), full=full)
    return time.perf_counter() - t0, preview.summary()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spokes-per-region", type=int, default=10)
    ap.add_argument("--clusters-per-spoke", type=int, default=250)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "fleet", REPO, args.spokes_per_region, args.clusters_per_spoke)
        repo = git.Repo.init(root)
        commit(repo, "generated fleet")

        region_file = root / "environments" / "regions" / "eu-de.yaml"
        doc = yaml.safe_load(region_file.read_text())
        doc["clusters"][0]["workerPools"][0]["sizePerZone"] += 1
        region_file.write_text(yaml.safe_dump(doc, sort_keys=False))
        commit(repo, "one region: resize one cluster's pool")
        one_region, s1 = timed(root)
        two_full, s_full = timed(root, full=True)
        assert s1["objects"] == s_full["objects"], (s1, s_full)

        (root / "README.md").write_text("docs only\n")
        commit(repo, "no-op for the fleet")
        noop, s3 = timed(root)

        template = root / "templates" / "cluster" / "namespace.yaml.j2"
        template.write_text(
            template.read_text().replace(
                '    razee.io/managed: "true"', '    razee.io/managed: "true"\n    razee.io/touched: x', 1
            )
        )
        commit(repo, "template used by every cluster")
        everywhere, s2 = timed(root)

    print(f"two full renders (preview without shortcuts): {two_full:6.1f} s")
    print(
        f"one-region change:          {one_region:6.2f} s  {two_full / one_region:5.1f}x faster than two full "
        f"renders (target >= 5x); rendered {s1['spokesRendered']} of {s1['spokesTotal']} spokes, "
        f"{s1['objects']} objects change"
    )
    print(
        f"template used everywhere:   {everywhere:6.1f} s  ({two_full / everywhere:4.1f}x); rendered "
        f"{s2['spokesRendered']} spokes, {s2['objects']} objects change"
    )
    print(f"no-op commit:               {noop:6.2f} s  (target < 2 s); {s3['objects']} objects change")


if __name__ == "__main__":
    main()
