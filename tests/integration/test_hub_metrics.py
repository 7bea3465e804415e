"""The hub's /metrics from a real `razee hub serve` process, parsed with prometheus_client's own text parser."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from razee.hub.api import MAX_REPORT_BYTES
from razee.hub.views import STATES
from tests.helpers.hubprocs import HubProcess, fleet_repo, post, wait_for
from tests.helpers.reports import report


def scrape(hub: HubProcess) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample by name, keyed by its sorted labels."""
    r = httpx.get(hub.url + "/metrics", timeout=60)  # unauthenticated, like /healthz
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def raw(hub: HubProcess, token: str | None, body: bytes) -> int:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return httpx.post(hub.url + "/api/v1/reports", content=body, headers=headers, timeout=120).status_code


def test_metrics_count_reports_latency_spokes_by_state_and_the_halted_rollout(hub_db: str, tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    _, rev = fleet_repo(root, [("c1", "canary"), ("m1", "main"), ("m2", "main"), ("n1", "main")])
    hub = HubProcess(
        hub_db,
        "--repo",
        root.as_uri(),
        "--poll",
        "1s",
        "--state-dir",
        str(tmp_path / "cache"),
        log=tmp_path / "hub.log",
    )
    try:
        tokens = {s: hub.token("agent", s) for s in ("c1", "m1", "m2")}
        reader = hub.token("reader")
        headers = {"Authorization": f"Bearer {reader}"}
        wait_for(
            "the declared fleet",
            lambda: (
                httpx.get(hub.url + "/api/v1/summary", headers=headers, timeout=60).json()["declaredRevision"] == rev
            ),
        )
        first = report("c1", revision=rev, result="failed", wave="canary", error="boom")
        assert post(hub, tokens["c1"], first).status_code == 201
        assert post(hub, tokens["c1"], first).status_code == 200  # a retry of a stored report: a duplicate
        drifted = [
            {
                "group": "apps",
                "kind": "Deployment",
                "namespace": "a",
                "name": "api",
                "status": "drifted",
                "paths": ["/spec/replicas"],
            }
        ]
        assert (
            post(
                hub, tokens["m1"], report("m1", revision=rev, result="drifted", wave="main", objects=drifted)
            ).status_code
            == 201
        )
        missing = [{"group": "", "kind": "ConfigMap", "namespace": "a", "name": "gone", "status": "missing"}]
        assert (
            post(
                hub, tokens["m2"], report("m2", revision=rev, result="applied", wave="main", objects=missing)
            ).status_code
            == 201
        )
        good = json.dumps(report("m1", revision=rev)).encode()
        assert raw(hub, None, good) == 401
        assert raw(hub, tokens["c1"], good) == 403
        assert raw(hub, tokens["m1"], b'{"schema": 1,') == 422
        assert raw(hub, tokens["m1"], json.dumps({**report("m1"), "counts": {"synced": -1}}).encode()) == 422
        assert raw(hub, tokens["m1"], json.dumps({**report("m1"), "time": time.time() + 3 * 86400}).encode()) == 422
        assert raw(hub, tokens["m1"], b" " * (MAX_REPORT_BYTES + 1)) == 413
        for name in ("c1", "m1", "n1"):
            assert httpx.get(f"{hub.url}/api/v1/spokes/{name}", headers=headers, timeout=60).status_code == 200

        summary = httpx.get(hub.url + "/api/v1/summary", headers=headers, timeout=60).json()
        expected_states = {state: summary["byState"].get(state, 0) for state in STATES}
        assert expected_states["failed"] == 1 and expected_states["never-reported"] == 1

        def settled() -> Any:  # the fleet gauges are cached for a few seconds
            m = scrape(hub)
            states = {dict(k)["state"]: v for k, v in m.get("razee_hub_spokes", {}).items()}
            return m if states == expected_states and m.get("razee_hub_rollout_halted") else None

        m = wait_for("the fleet gauges", settled)
        assert m["razee_hub_reports_ingested_total"] == {
            (("result", "failed"),): 1,
            (("result", "drifted"),): 1,
            (("result", "applied"),): 1,
        }
        assert m["razee_hub_reports_duplicate_total"] == {(): 1}
        assert m["razee_hub_reports_rejected_total"] == {
            (("reason", r),): 1
            for r in ("unauthenticated", "forbidden", "invalid-json", "invalid-schema", "clock-ahead", "too-large")
        }
        assert m["razee_hub_rollout_halted"] == {(("revision", rev),): 1}
        assert m["razee_hub_rollout_complete"] == {(("revision", rev),): 0}
        assert m["razee_hub_objects"] == {
            (("status", "drifted"),): 1,
            (("status", "missing"),): 1,
            (("status", "failed"),): 0,
        }
        # latency by route template, never by raw path (labels stay bounded whatever the spokes are called)
        counts = {
            dict(k)["route"]: v
            for k, v in m["razee_hub_request_duration_seconds_count"].items()
            if dict(k)["method"] == "GET"
        }
        assert counts["/api/v1/spokes/{name}"] == 3
        posts = {
            dict(k)["route"]: v
            for k, v in m["razee_hub_request_duration_seconds_count"].items()
            if dict(k)["method"] == "POST"
        }
        assert posts["/api/v1/reports"] == 10
        assert not any("c1" in route for route in counts)

        # the failed canary recovers: the halt clears and the states follow
        assert post(hub, tokens["c1"], report("c1", revision=rev, result="applied", wave="canary")).status_code == 201
        wait_for("the halt to clear", lambda: scrape(hub)["razee_hub_rollout_halted"] == {(("revision", rev),): 0})
    finally:
        hub.close()
