"""An agent pass of the example fleet against a real kube-apiserver, with the simulated `local` infrastructure:
its report carries each customer cluster of the spoke (master objects, worker pools, kube version), and the hub
(on real SQLite) takes it and answers for each cluster (issue 28)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import git

from razee.agent.core import Agent, AgentSettings
from razee.fleet.loader import load_fleet
from razee.source.local import BUILTIN_FLEET
from tests.helpers.reports import Hub

SPOKE = "us-south-spoke-1"


def test_a_pass_reports_its_clusters_and_pools(cluster_factory: Callable[[str], str], tmp_path: Path) -> None:
    origin = tmp_path / "fleet"
    for part in ("environments", "templates", "charts", "kustomize"):  # what sources read too
        shutil.copytree(BUILTIN_FLEET / part, origin / part)
    repo = git.Repo.init(origin, initial_branch="main")
    repo.git.add(A=True)
    actor = git.Actor("t", "t@example.com")
    revision = repo.index.commit("the example fleet", author=actor, committer=actor).hexsha
    view = load_fleet(origin).find_spoke(SPOKE)
    assert view is not None and view.clusters

    def agent() -> Agent:  # one run(once=True) each: a run closes its outbox and source at the end
        return Agent(
            AgentSettings(
                spoke=SPOKE,
                repo=origin.as_uri(),
                kubeconfig=kubeconfig,
                state_dir=tmp_path / "agent",
                identity="t",
                interval=1,
                poll=0.2,
                provider_settings={"db": str(tmp_path / "cloud.sqlite"), "delay": "0"},
            )
        )

    kubeconfig = cluster_factory("clusters-agent")
    first = agent().run(once=True)
    assert first is not None and first.result in ("applied", "in-sync"), (first.result, first.error)
    second = agent().run(once=True)  # the workers the first pass ordered are observed by the second
    assert second is not None and second.result == "in-sync", (second.result, second.error)
    body = second.to_report()
    clusters = {c["name"]: c for c in body["clusters"]}
    assert set(clusters) == {c.name for c in view.clusters}
    for declared in view.clusters:
        got = clusters[declared.name]
        assert got["master"]["synced"] > 0 and got["master"]["failed"] == 0, got["master"]
        assert got["version"] == declared.kube_version and got["observedVersion"] == declared.kube_version
        pools = {p["name"]: p for p in got["pools"]}
        assert set(pools) == {p.name for p in declared.worker_pools}
        for p in declared.worker_pools:
            want = p.size_per_zone * len(p.zones)
            assert (pools[p.name]["desired"], pools[p.name]["observed"], pools[p.name]["flavor"]) == (
                want,
                want,
                p.flavor,
            ), pools[p.name]
        assert got["pending"] == 0

    hub = Hub(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    assert hub.post(body, hub.token("agent", SPOKE)).status_code == 201
    listed = hub.get("/api/v1/clusters", spoke=SPOKE).json()
    assert listed["total"] == len(view.clusters) and {c["state"] for c in listed["items"]} == {"in-sync"}
    name = view.clusters[0].name
    detail = hub.get(f"/api/v1/clusters/{name}").json()
    assert detail["revision"] == revision and detail["pools"] == clusters[name]["pools"]
