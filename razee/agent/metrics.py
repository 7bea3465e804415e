"""Prometheus metrics of one agent (its own registry, so tests and several agents in a process stay apart)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.pass_duration = Histogram(
            "razee_pass_duration_seconds",
            "Duration of reconcile passes",
            registry=r,
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.objects_applied = Counter("razee_objects_applied_total", "Objects created, updated or pruned", registry=r)
        self.drift = Gauge("razee_drift_objects", "Objects found drifted in the last pass", registry=r)
        self.last_success = Gauge("razee_last_success_timestamp_seconds", "End of the last successful pass", registry=r)
        self.errors = Counter("razee_errors_total", "Failed passes by kind", ["kind"], registry=r)
        self.source = Info("razee_source", "The revision being enforced", registry=r)
        self.leader = Gauge("razee_leader", "1 when this replica holds the lease", registry=r)
        self.outbox = Gauge("razee_outbox_reports", "Reports waiting for delivery to the hub", registry=r)
        self.refused = Gauge(
            "razee_reports_refused",
            "Reports the hub refused (4xx) since start: recorded in the outbox's rejected table and dropped",
            registry=r,
        )
