"""The loaded, validated fleet: the desired state every other stage reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from razee.fleet.model import Cluster, FleetSpec, Region, Spoke
from razee.fleet.values import layered


@dataclass(frozen=True)
class SpokeView:
    """A spoke with its region and the clusters scheduled onto it, as a render needs them."""

    spoke: Spoke
    region: Region
    clusters: tuple[Cluster, ...]


@dataclass(frozen=True)
class Fleet:
    spec: FleetSpec
    regions: tuple[Region, ...]
    assignments: dict[str, str]  # cluster name -> spoke name
    region_files: dict[str, str] = field(default_factory=dict)  # region name -> repo-relative file

    def spokes(self) -> Iterator[SpokeView]:
        for region in self.regions:
            for spoke in sorted(region.spokes, key=lambda s: s.name):
                yield self.spoke_view(region, spoke)

    def spoke_view(self, region: Region, spoke: Spoke) -> SpokeView:
        clusters = tuple(
            sorted((c for c in region.clusters if self.assignments[c.name] == spoke.name), key=lambda c: c.name)
        )
        return SpokeView(spoke, region, clusters)

    def find_spoke(self, name: str) -> SpokeView | None:
        return next((v for v in self.spokes() if v.spoke.name == name), None)

    def find_region(self, name: str) -> Region | None:
        return next((r for r in self.regions if r.name == name), None)

    def spoke_values(self, view: SpokeView) -> dict[str, Any]:
        return layered(self.spec.values, view.region.values, view.spoke.values)

    def cluster_values(self, view: SpokeView, cluster: Cluster) -> dict[str, Any]:
        return layered(self.spec.values, view.region.values, view.spoke.values, cluster.values)
