"""Assigning customer clusters to spokes.

A cluster that names its spoke stays there. Any other cluster goes to the spoke of its region that ranks highest
for it by rendezvous hashing and still has free capacity. Clusters are placed in the order the region file lists
them, after every pinned one, so appending a cluster never moves an existing one, and inserting one moves others
only when a spoke is full. Pin a cluster with `spoke:` to make its placement permanent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from razee.fleet.model import Cluster, Spoke


def _weight(cluster: str, spoke: str) -> bytes:
    return hashlib.sha256(f"{cluster}\0{spoke}".encode()).digest()


def rank_spokes(cluster: str, spokes: Sequence[Spoke]) -> list[Spoke]:
    """Spokes in the cluster's order of preference; stable when spokes are added or removed."""
    return sorted(spokes, key=lambda s: _weight(cluster, s.name), reverse=True)


class CapacityError(Exception):
    def __init__(self, cluster: str, message: str) -> None:
        super().__init__(message)
        self.cluster = cluster


def assign_clusters(spokes: Sequence[Spoke], clusters: Sequence[Cluster]) -> dict[str, str]:
    """Map every cluster name to a spoke name, or raise CapacityError for the first that cannot be placed.

    Pinned clusters must already name spokes of this region; the caller checks that.
    """
    used = {s.name: 0 for s in spokes}
    capacity = {s.name: s.capacity for s in spokes}
    placed: dict[str, str] = {}
    for c in clusters:
        if c.spoke is not None:
            used[c.spoke] += 1
            placed[c.name] = c.spoke
    for name, count in used.items():
        if count > capacity[name]:
            over = [c.name for c in clusters if c.spoke == name][capacity[name]]
            raise CapacityError(
                over, f"spoke {name} is over its capacity of {capacity[name]} ({count} clusters are pinned to it)"
            )
    for c in clusters:
        if c.spoke is not None:
            continue
        for s in rank_spokes(c.name, spokes):
            if used[s.name] < capacity[s.name]:
                used[s.name] += 1
                placed[c.name] = s.name
                break
        else:
            total = sum(capacity.values())
            raise CapacityError(
                c.name, f"no spoke of the region has free capacity for cluster {c.name} (all {total} places are taken)"
            )
    return placed
