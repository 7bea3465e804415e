"""The hub's API on real SQLite and real PostgreSQL: auth, validation, ingestion and fleet-wide views."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from razee.hub.api import MAX_REPORT_BYTES
from razee.hub.auth import revoke_token
from tests.helpers.reports import Hub, report


@pytest.fixture
def hub(hub_db: str) -> Iterator[Hub]:
    h = Hub(hub_db)
    yield h
    h.store.engine.dispose()


def test_auth_missing_wrong_other_spoke_reader_and_revoked(hub: Hub) -> None:
    agent_a = hub.token("agent", "spoke-a")
    body = report("spoke-a")
    assert hub.client.post("/api/v1/reports", json=body).status_code == 401
    assert hub.post(body, "rzh_nope_nope").status_code == 401
    assert hub.post(body, agent_a[:-2] + "xx").status_code == 401
    assert hub.post(report("spoke-b"), agent_a).status_code == 403  # only its own spoke
    assert hub.post(body, hub.reader).status_code == 403
    assert hub.client.get("/api/v1/summary").status_code == 401
    assert hub.get("/api/v1/summary").json()["spokes"] == 0  # nothing was stored by the refused requests
    token_id = agent_a.split("_")[1]
    assert revoke_token(hub.store, token_id)
    assert hub.post(body, agent_a).status_code == 401


def test_ingest_is_idempotent_and_views_follow(hub: Hub) -> None:
    a, b = hub.token("agent", "spoke-a"), hub.token("agent", "spoke-b")
    drifted = {
        "group": "apps",
        "kind": "Deployment",
        "namespace": "armada",
        "name": "api",
        "status": "drifted",
        "paths": ["/spec/replicas"],
    }
    first = report("spoke-a", objects=[drifted])
    assert hub.post(first, a).status_code == 201
    again = hub.post(first, a)
    assert again.status_code == 200 and again.json()["stored"] is False
    failed = report("spoke-b", region="eu-de", revision="r2", result="failed", error="boom")
    assert hub.post(failed, b).status_code == 201
    summary = hub.get("/api/v1/summary").json()
    assert summary["spokes"] == 2 and summary["driftedObjects"] == 1
    assert summary["byRevision"] == {"r1": 1, "r2": 1} and summary["byRegion"] == {"us-south": 1, "eu-de": 1}
    drift = hub.get("/api/v1/drift", region="us-south").json()["items"]
    assert [(d["spoke"], d["kind"], d["name"], d["paths"]) for d in drift] == [
        ("spoke-a", "Deployment", "api", ["/spec/replicas"])
    ]
    assert hub.get("/api/v1/drift", region="eu-de").json()["items"] == []
    rollout = hub.get("/api/v1/rollout", revision="r2").json()
    assert (rollout["revision"], rollout["applied"], rollout["failed"], rollout["pending"], rollout["halted"]) == (
        "r2",
        [],
        ["spoke-b"],
        ["spoke-a"],
        "",
    )
    spokes = hub.get("/api/v1/spokes", limit=1).json()
    assert len(spokes["items"]) == 1 and spokes["items"][0]["spoke"] == "spoke-b"  # eu-de sorts first
    assert hub.get("/api/v1/spokes", limit=1, offset=1).json()["items"][0]["spoke"] == "spoke-a"
    history = hub.get("/api/v1/spokes/spoke-a/history").json()["items"]
    assert [h["revision"] for h in history] == ["r1"]


def test_malformed_oversized_and_secret_smuggling_reports_are_refused(hub: Hub) -> None:
    a = hub.token("agent", "spoke-a")
    assert (
        hub.client.post("/api/v1/reports", content=b"{not json", headers={"Authorization": f"Bearer {a}"}).status_code
        == 422
    )
    assert hub.post({**report("spoke-a"), "result": "exploded"}, a).status_code == 422
    smuggled = report(
        "spoke-a",
        objects=[
            {
                "group": "",
                "kind": "Secret",
                "namespace": "x",
                "name": "s",
                "status": "updated",
                "data": {"password": "c2VjcmV0"},
            }
        ],
    )
    refused = hub.post(smuggled, a)
    assert refused.status_code == 422 and "c2VjcmV0" not in refused.text  # object contents are never accepted
    twice = {"group": "", "kind": "ConfigMap", "namespace": "a", "name": "b", "status": "drifted"}
    duplicate = hub.post(report("spoke-a", objects=[twice, twice]), a)
    assert duplicate.status_code == 422 and "appears twice" in duplicate.text  # not a 500 from the database
    big = report("spoke-a", findings=["x" * 1000] * (MAX_REPORT_BYTES // 1000 + 10))
    assert hub.post(big, a).status_code == 413
    assert hub.get("/api/v1/summary").json()["spokes"] == 0


def test_staleness_order_and_retention_follow_the_hubs_clock(hub_db: str) -> None:
    h = Hub(hub_db)
    h.store.stale_after, h.store.keep_reports, h.store.retain_every = 1.0, 3, 1
    a = h.token("agent", "spoke-a")
    for i in range(6):
        assert h.post(report("spoke-a", revision=f"r{i}"), a).status_code == 201
    ahead = report("spoke-a", revision="r-ahead")
    ahead["time"] = time.time() + 3600  # the agent's clock is an hour fast: data, not order
    assert h.post(ahead, a).status_code == 201
    after = report("spoke-a", revision="r-after", result="failed", error="boom")
    after["time"] = time.time() - 3600  # an hour slow: still the newest report the hub received
    assert h.post(after, a).status_code == 201
    spokes = h.get("/api/v1/spokes").json()["items"]
    assert spokes[0]["revision"] == "r-after" and spokes[0]["state"] == "failed" and spokes[0]["stale"] is False
    assert spokes[0]["agentTime"] == after["time"]
    time.sleep(1.5)
    assert h.get("/api/v1/summary").json()["stale"] == 1  # stale by the hub's clock, whatever agents stamp
    history = h.get("/api/v1/spokes/spoke-a/history").json()["items"]
    assert [x["revision"] for x in history] == ["r-after", "r-ahead", "r5"]  # by arrival, bounded to 3
    assert history[0]["error"] == "boom" and history[0]["bytes"] > 0
    h.store.engine.dispose()


def test_retention_is_bounded_in_bytes(hub_db: str) -> None:
    h = Hub(hub_db)
    h.store.keep_reports, h.store.keep_bytes, h.store.retain_every = 100, 60_000, 1
    a = h.token("agent", "spoke-a")
    for i in range(6):
        assert h.post(report("spoke-a", revision=f"r{i}", findings=["x" * 1500] * 10), a).status_code == 201
    history = h.get("/api/v1/spokes/spoke-a/history").json()["items"]
    assert 1 <= len(history) <= 4 and sum(x["bytes"] for x in history) <= 60_000
    assert history[0]["revision"] == "r5"
    h.store.engine.dispose()


def test_concurrent_writers(hub: Hub) -> None:
    tokens = {f"s{i}": hub.token("agent", f"s{i}") for i in range(8)}
    errors: list[int] = []

    def writer(spoke: str) -> None:
        for n in range(10):
            r = hub.post(report(spoke, revision=f"r{n}"), tokens[spoke])
            if r.status_code != 201:
                errors.append(r.status_code)

    threads = [threading.Thread(target=writer, args=(s,)) for s in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert hub.get("/api/v1/summary").json()["byRevision"] == {"r9": 8}
