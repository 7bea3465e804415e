#!/usr/bin/env python3
"""Rollout benchmark: how long a commit takes to reach all spokes of the quickstart fleet (3 spokes, 2 waves, real
hub, agents, clusters) with zero bake time, next to the sum of the agents' intervals (what a fleet that only
polls on its interval, one wave after another, could take). Target (issue 8): print it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["RAZEE_QUICKSTART_BAKE"] = "0s"
os.environ["RAZEE_QUICKSTART_DEADLINE"] = "5s"  # the silent second canary: counted as failed after 5 s
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import quickstart_fleet as qs


def main() -> None:
    try:
        took = qs.up()
    finally:
        qs.stop(quiet=True)
    intervals = qs.INTERVAL * len(qs.SPOKES)
    print(
        f"commit to all {len(qs.SPOKES)} spokes in 2 waves, zero bake: {took:.1f} s; sum of the agents' intervals: "
        f"{intervals} s ({intervals / max(took, 0.1):.1f}x)"
    )


if __name__ == "__main__":
    main()
