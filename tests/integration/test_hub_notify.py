"""`razee hub serve --notify`: a real hub process following a real git repo, real reports, and webhook receivers on
loopback. Each transition arrives once; a receiver that fails twice still gets it; a hanging one slows nothing."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import git
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import run_razee
from tests.helpers.hubprocs import HubProcess, Receiver, fleet_repo, post, wait_for
from tests.helpers.reports import report

BODY_MARKER = "object-name-that-must-not-leave-the-hub"
STALE_AFTER = 8


def test_each_transition_is_notified_once_with_retries_and_never_blocks_ingestion(hub_db: str, tmp_path: Path) -> None:
    receiver = Receiver()
    root = tmp_path / "fleet"
    repo, rev = fleet_repo(root, [("c1", "canary"), ("m1", "main")])
    hub = HubProcess(
        hub_db,
        "--repo",
        root.as_uri(),
        "--poll",
        "1s",
        "--state-dir",
        str(tmp_path / "cache"),
        "--stale-after",
        str(STALE_AFTER),
        "--notify",
        receiver.url + "/ok",
        "--notify",
        receiver.url + "/flaky",
        "--notify",
        receiver.url + "/hang",
        "--notify",
        f"slack+{receiver.url}/slack",
        log=tmp_path / "hub.log",
    )
    try:
        tokens = {s: hub.token("agent", s) for s in ("c1", "m1", "x1", "s1")}
        reader = hub.token("reader")

        def declared() -> bool:
            r = hub_get(hub, reader, "/api/v1/summary")
            return bool(r["declaredRevision"] == rev)

        wait_for("the hub to read the fleet repo", declared)
        time.sleep(1.5)  # the watcher's baseline is taken; from here every change is an event

        def got(kind: str, n: int = 1) -> bool:
            return sum(1 for e in receiver.events("/ok") if e["event"] == kind) >= n

        timings: list[float] = []

        def send(spoke: str, **kw: object) -> None:
            started = time.monotonic()
            r = post(hub, tokens[spoke], report(spoke, revision=kw.pop("revision", rev), **kw))  # type: ignore[arg-type]
            timings.append(time.monotonic() - started)
            assert r.status_code == 201, r.text

        send("s1", result="applied", revision="e" * 40)  # an undeclared spoke that will go silent
        send(
            "c1",
            result="failed",
            wave="canary",
            error="boom",
            objects=[{"group": "", "kind": "ConfigMap", "namespace": "a", "name": BODY_MARKER, "status": "failed"}],
        )
        wait_for("rollout-halted", lambda: got("rollout-halted"))
        for _ in range(5):  # the same state again and again: no new event
            send("c1", result="failed", wave="canary", error="boom")
        send("c1", result="applied", wave="canary")
        wait_for("rollout-resumed", lambda: got("rollout-resumed"))
        send("m1", result="applied", wave="main")
        wait_for("rollout-completed", lambda: got("rollout-completed"))
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
        for _ in range(3):
            send("m1", result="drifted", wave="main", objects=drifted)
        wait_for("drift-appeared", lambda: got("drift-appeared"))
        send("m1", result="in-sync", wave="main")
        wait_for("drift-cleared", lambda: got("drift-cleared"))
        send("x1", result="rejected", revision="f" * 40, error="policy allowed-registries: evil.io/x is not allowed")
        wait_for("revision-rejected by a spoke", lambda: got("revision-rejected"))
        (root / "environments" / "fleet.yaml").write_text("name: [broken\n")
        repo.git.add(A=True)
        repo.index.commit("broken", author=git.Actor("t", "t@example.com"))
        wait_for("revision-rejected by the hub", lambda: got("revision-rejected", 2))
        wait_for(
            "s1 to go stale",
            lambda: any(e["event"] == "spoke-stale" and e["spoke"] == "s1" for e in receiver.events("/ok")),
        )
        send("s1", result="applied", revision="e" * 40)
        wait_for(
            "s1 to come back",
            lambda: any(e["event"] == "spoke-back" and e["spoke"] == "s1" for e in receiver.events("/ok")),
        )
        # the hanging receiver has held every request it got (the hub times out and retries): nothing arrived
        assert not receiver.release.is_set() and receiver.hits.get("/hang", 0) >= 1
        assert receiver.events("/hang") == []

        time.sleep(2)  # anything announced twice would arrive by now
        ok = receiver.events("/ok")
        # other spokes may go stale on a slow machine; the events under test are the ones the test caused
        counted = Counter(
            (e["event"], e["spoke"] if e["event"].startswith("spoke-") else "")
            for e in ok
            if not e["event"].startswith("spoke-") or e["spoke"] == "s1"
        )
        assert counted == {
            ("rollout-halted", ""): 1,
            ("rollout-resumed", ""): 1,
            ("rollout-completed", ""): 1,
            ("drift-appeared", ""): 1,
            ("drift-cleared", ""): 1,
            ("revision-rejected", ""): 2,
            ("spoke-stale", "s1"): 1,
            ("spoke-back", "s1"): 1,
        }, ok
        halted = next(e for e in ok if e["event"] == "rollout-halted")
        assert halted["revision"] == rev and "wave canary has 1 failed spoke(s) (c1)" in halted["reason"]
        drift = next(e for e in ok if e["event"] == "drift-appeared")
        assert drift["spoke"] == "m1" and drift["region"] == "us-south"
        rejected = {e["revision"]: e for e in ok if e["event"] == "revision-rejected"}
        assert rejected["f" * 40]["spoke"] == "x1" and "evil.io" in rejected["f" * 40]["reason"]
        broken = next(r for r in rejected if r != "f" * 40)
        assert rejected[broken]["spoke"] == "" and rejected[broken]["reason"]
        # the receiver that failed twice got every event (retried), once each
        wait_for("the flaky receiver to catch up", lambda: len(receiver.events("/flaky")) >= len(ok))
        assert sorted(e["id"] for e in receiver.events("/flaky")) == sorted(e["id"] for e in ok)
        assert receiver.hits["/flaky"] == len(ok) + 2
        # Slack's format: only a text line
        slack = wait_for(
            "slack messages", lambda: len(receiver.events("/slack")) >= len(ok) and receiver.events("/slack")
        )
        assert all(set(m) == {"text"} for m in slack) and any("halted" in m["text"] for m in slack)
        # names, states, revisions and reasons only: nothing of a report's body
        assert BODY_MARKER not in json.dumps(receiver.got)
        # the hanging receiver held its first request all along; reports were stored meanwhile
        print(f"report ingestion while a receiver hangs: {len(timings)} reports, slowest {max(timings):.3f}s")
        outcomes = {
            s.labels["outcome"]: s.value
            for f in text_string_to_metric_families(hub_metrics(hub))
            if f.name == "razee_hub_notifications"
            for s in f.samples
            if s.name.endswith("_total")
        }
        assert outcomes["retried"] >= 2 and outcomes["sent"] >= 3 * len(ok)
    finally:
        receiver.close()
        hub.close()


def hub_get(hub: HubProcess, token: str, path: str) -> dict[str, object]:
    import httpx

    r = httpx.get(hub.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def hub_metrics(hub: HubProcess) -> str:
    import httpx

    return httpx.get(hub.url + "/metrics", timeout=60).text


def test_a_bad_notify_url_is_a_clear_error_that_starts_nothing(tmp_path: Path) -> None:
    db = tmp_path / "hub.sqlite"
    r = run_razee(
        "hub",
        "serve",
        "--db",
        f"sqlite:///{db}",
        "--listen",
        "127.0.0.1:0",
        "--notify",
        "ftp://user:s3cr3t@example.com/hook",
        timeout=120,
    )
    assert r.returncode != 0 and "--notify" in r.stderr and "ftp" in r.stderr
    assert "s3cr3t" not in r.stderr + r.stdout  # a webhook URL can be a secret: never echoed
    assert "razee hub on" not in r.stderr + r.stdout and not db.exists()
