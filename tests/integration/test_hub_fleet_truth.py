"""The hub joins what the fleet repo declares (a real git repo it follows) with what agents report, on real SQLite
and PostgreSQL; bad reports are 422s that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import git

from razee.hub.follow import RepoFollower
from tests.fleetrepo import ACTOR, commit
from tests.helpers.reports import Hub, bad_reports, report


def test_declared_spokes_are_listed_and_counted_whatever_reports(hub_db: str, tmp_path: Path) -> None:
    hub = Hub(hub_db)
    root = tmp_path / "fleet"
    repo = git.Repo.init(root, initial_branch="main")
    first = commit(root, repo, [("spoke-a", "canary"), ("spoke-c", "canary"), ("spoke-b", "main")], "three spokes")
    follower = RepoFollower(hub.store, root.as_uri(), "main", tmp_path / "cache")
    assert follower.check() == first

    summary = hub.get("/api/v1/summary").json()
    assert summary["spokes"] == 3 and summary["neverReported"] == 3 and summary["declaredRevision"] == first
    assert summary["clusters"] == 2 and summary["byState"] == {"never-reported": 3}
    a = hub.token("agent", "spoke-a")
    assert hub.post(report("spoke-a", revision=first, result="applied", wave="canary"), a).status_code == 201
    spokes = {s["spoke"]: s for s in hub.get("/api/v1/spokes").json()["items"]}
    assert spokes["spoke-a"]["state"] == "in-sync" and spokes["spoke-c"]["state"] == "never-reported"
    assert spokes["spoke-c"]["wave"] == "canary" and spokes["spoke-c"]["reported"] is False

    rollout = hub.get("/api/v1/rollout").json()  # default: the newest committed revision
    assert rollout["revision"] == first and rollout["message"] == "three spokes" and "Ada" in rollout["author"]
    assert rollout["applied"] == ["spoke-a"] and rollout["pending"] == ["spoke-b", "spoke-c"]
    assert rollout["neverReported"] == ["spoke-b", "spoke-c"]
    canary, main = rollout["waves"]
    assert canary["waiting"] == {"spoke-c": "never reported"} and canary["gate"]["allowed"]
    assert not main["gate"]["allowed"] and "spoke-c: never reported" in main["gate"]["reason"]
    # a late report of an old revision does not move the default rollout view backwards
    assert hub.post(report("spoke-a", revision="0" * 40, result="applied"), a).status_code == 201
    assert hub.get("/api/v1/rollout").json()["revision"] == first
    assert hub.get("/api/v1/rollout", revision=first[:12]).json()["revision"] == first  # a prefix is enough

    # spoke-c leaves the repo: it stops holding the main wave of the new revision
    second = commit(root, repo, [("spoke-a", "canary"), ("spoke-b", "main")], "retire a canary")
    assert follower.check() == second
    assert hub.post(report("spoke-a", revision=second, result="applied", wave="canary"), a).status_code == 201
    rollout = hub.get("/api/v1/rollout").json()
    assert rollout["revision"] == second and rollout["waves"][1]["gate"]["allowed"]
    assert "spoke-c" not in json.dumps(rollout)
    assert {s["spoke"] for s in hub.get("/api/v1/spokes").json()["items"]} == {"spoke-a", "spoke-b"}
    state = hub.get("/api/v1/rollout/state", a, revision=second).json()
    assert state["since"] <= state["now"]  # the hub's clock starts each revision's progress deadline

    # a commit whose fleet does not load is recorded with its error; views keep the last good declaration
    (root / "environments" / "fleet.yaml").write_text("name: [broken\n")
    repo.git.add(A=True)
    repo.index.commit("broken", author=ACTOR, committer=ACTOR)
    broken = follower.check()
    assert broken is not None
    revisions = hub.get("/api/v1/revisions").json()["items"]
    assert revisions[0]["revision"] == broken and revisions[0]["error"] and not revisions[0]["declared"]
    assert hub.get("/api/v1/summary").json()["declaredRevision"] == second
    follower.close()
    hub.store.engine.dispose()


def testbad_reports_are_422_and_change_nothing(hub_db: str) -> None:
    hub = Hub(hub_db)
    a = hub.token("agent", "spoke-a")
    assert hub.post(report("spoke-a", revision="good"), a).status_code == 201
    before = (
        hub.get("/api/v1/summary").json(),
        hub.get("/api/v1/spokes").json(),
        [x["id"] for x in hub.get("/api/v1/spokes/spoke-a/history").json()["items"]],
    )
    for name, raw in bad_reports("spoke-a").items():
        r = hub.client.post(
            "/api/v1/reports", content=raw, headers={"Authorization": f"Bearer {a}", "Content-Type": "application/json"}
        )
        assert r.status_code == 422, (name, r.status_code, r.text[:300])
    after = (
        hub.get("/api/v1/summary").json(),
        hub.get("/api/v1/spokes").json(),
        [x["id"] for x in hub.get("/api/v1/spokes/spoke-a/history").json()["items"]],
    )
    for doc in (before[1], after[1]):  # staleness and last-seen are the only things time changes
        for item in doc["items"]:
            item.pop("stale")
    assert after == before
    hub.store.engine.dispose()
