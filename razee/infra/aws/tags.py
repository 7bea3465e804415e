"""The razee tags on EC2 resources, and reading a worker back from an instance.

Tags are how the aws provider finds what it made: `razee:fleet`, `razee:spoke` and `razee:cluster` on a cluster's
launch template and its instances, plus pool, zone, worker name, flavor, version, disk encryption and the creating
change's token on each instance. IAM policies condition on them too (docs/providers.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from razee.infra.model import Worker, WorkerState

P = "razee:"
LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]
STATES = {
    "pending": WorkerState.PROVISIONING,
    "running": WorkerState.NORMAL,
    "shutting-down": WorkerState.DELETING,
    "stopping": WorkerState.CRITICAL,
    "stopped": WorkerState.CRITICAL,
}
"""A stopped worker serves nothing: it counts as critical, so the planner replaces it rolling."""


@dataclass
class Record:
    """A cluster's launch template: the cluster exists, which spoke owns it, and its master version."""

    id: str
    spoke: str
    version: str


def tags_of(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def worker_of(instance: dict[str, Any], flavors: Mapping[str, str]) -> Worker:
    """The worker an instance is. Its flavor is the tagged one while the instance type is what `flavors` maps that
    flavor to; otherwise (changed by hand, or a new type in the map) the instance type, so it reads as a flavor
    change and is replaced rolling."""
    tags = tags_of(instance.get("Tags"))
    flavor = tags.get(f"{P}flavor", "")
    if flavors.get(flavor) != instance.get("InstanceType"):
        flavor = str(instance.get("InstanceType"))
    state = STATES.get(instance["State"]["Name"], WorkerState.CRITICAL)
    return Worker(
        instance["InstanceId"],
        tags.get(f"{P}pool", ""),
        tags.get(f"{P}zone", ""),
        flavor,
        tags.get(f"{P}encrypted") == "true",
        tags.get(f"{P}version", ""),
        state,
    )
