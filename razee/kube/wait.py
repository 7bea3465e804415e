"""Waiting until applied objects are healthy, re-reading them with the same few LISTs as planning."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from razee.kube.client import Kube
from razee.kube.discovery import Discovery
from razee.kube.health import Health, HealthStatus, health_of, needs_watching
from razee.kube.live import read_live
from razee.objects import ObjectKey


def wait_healthy(
    kube: Kube,
    discovery: Discovery,
    objects: Iterable[tuple[ObjectKey, str]],
    target: str,
    timeout: float,
    interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[ObjectKey, Health]:
    """Health of every watched object when all are healthy, one is degraded, or `timeout` seconds passed.

    Returns only the objects that are not healthy (empty means success).
    """
    watched = [(k, v) for k, v in objects if needs_watching(k.group, k.kind)]
    deadline = time.monotonic() + timeout
    while True:
        live = read_live(kube, discovery, watched, target)
        unhealthy = health_of(live.objects, (k for k, _ in watched))
        degraded = any(h.status == HealthStatus.DEGRADED for h in unhealthy.values())
        if not unhealthy or degraded or time.monotonic() >= deadline:
            return unhealthy
        sleep(interval)
