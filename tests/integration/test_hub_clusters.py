"""Customer clusters and the fleet's sources in the hub (issue 28), on real SQLite and PostgreSQL: what reports say
of each cluster, joined with what the followed fleet repo declares; lists that filter and page; one cluster's page
with its changes and their commits; counts; sources by chart; rows written only when they changed; bad input
refused with nothing changed; dashboard pages that escape what they show."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import git
from sqlalchemy import func, select

from razee.hub.follow import RepoFollower
from razee.hub.schema import ClusterChange, ClusterState, SourceState
from tests.fleetrepo import commit
from tests.helpers.clusters import chart, cluster
from tests.helpers.reports import Hub, report


def fleet_of(hub: Hub, spokes: int = 3, per_spoke: int = 30) -> dict[str, str]:
    """`spokes` spokes in two regions, `per_spoke` clusters each: versions 1.30/1.31, some drifted, one failed."""
    tokens = {}
    for s in range(spokes):
        spoke, region = f"sp-{s}", ("us-south" if s % 2 == 0 else "eu-de")
        tokens[spoke] = hub.token("agent", spoke)
        clusters = [
            cluster(
                f"{spoke}-c{i:03d}",
                "1.30.9" if i % 3 == 0 else "1.31.4",
                drifted=int(i % 10 == 1),
                failed=int(s == 0 and i == 2),
                observed=2 if i == 5 else 3,
            )
            for i in range(per_spoke)
        ]
        sources = [chart("nginx", "4.1.0" if s == 0 else "4.2.0", c["name"]) for c in clusters[:5]]
        body = report(spoke, region=region, revision="a" * 40, clusters=clusters, sources=sources)
        assert hub.post(body, tokens[spoke]).status_code == 201
    return tokens


def test_clusters_list_filter_page_and_count(hub_db: str) -> None:
    hub = Hub(hub_db)
    fleet_of(hub)
    page = hub.get("/api/v1/clusters", limit=1000).json()
    assert page["total"] == 90 and len(page["items"]) == 90 and page["next"] is None
    by_name = {c["name"]: c for c in page["items"]}
    assert by_name["sp-0-c002"]["state"] == "failed" and by_name["sp-1-c001"]["state"] == "drifted"
    assert by_name["sp-1-c005"]["state"] == "progressing" and by_name["sp-1-c005"]["workersObserved"] == 2
    assert by_name["sp-2-c004"]["state"] == "in-sync" and by_name["sp-2-c004"]["version"] == "1.31.4"

    def names(**params: Any) -> list[str]:
        answer = hub.get("/api/v1/clusters", limit=1000, **params).json()
        assert answer["total"] == len(answer["items"])
        return [c["name"] for c in answer["items"]]

    assert len(names(region="eu-de")) == 30 and all(n.startswith("sp-1-") for n in names(region="eu-de"))
    assert len(names(spoke="sp-2")) == 30
    assert len(names(version="1.30")) == 30 and names(version="1.30") == names(version="1.30.9")
    assert names(version="1.3") == []  # a version matches whole components: 1.3 is not 1.30
    assert names(state="failed") == ["sp-0-c002"]
    assert names(state="drifted") == [
        "sp-0-c001",
        "sp-0-c011",
        "sp-0-c021",
        "sp-1-c001",
        "sp-1-c011",
        "sp-1-c021",
        "sp-2-c001",
        "sp-2-c011",
        "sp-2-c021",
    ]
    assert names(prefix="sp-1-c00") == [f"sp-1-c00{i}" for i in range(10)]
    assert names(prefix="sp-1-c00", state="progressing", region="eu-de") == ["sp-1-c005"]
    assert names(prefix="%") == [] and names(prefix="sp_") == []  # no LIKE wildcards

    seen, after = [], None  # keyset paging visits every cluster once, in name order
    while True:
        answer = hub.get("/api/v1/clusters", limit=7, **({"after": after} if after else {})).json()
        seen += [c["name"] for c in answer["items"]]
        after = answer["next"]
        if after is None:
            break
    assert seen == sorted(by_name)
    assert [c["name"] for c in hub.get("/api/v1/clusters", limit=5, offset=10).json()["items"]] == seen[10:15]

    counts = hub.get("/api/v1/cluster-counts").json()
    assert counts["total"] == 90 and counts["byVersion"] == {"1.30.9": 30, "1.31.4": 60}
    assert counts["byState"] == {"failed": 1, "drifted": 9, "progressing": 3, "in-sync": 77}
    for bad in ({"state": "bogus"}, {"version": "1.31; drop"}, {"limit": 0}, {"colour": "red"}):
        assert hub.get("/api/v1/clusters", **bad).status_code == 422, bad


def test_one_cluster_with_its_changes_and_commits(hub_db: str, tmp_path: Path) -> None:
    hub = Hub(hub_db)
    root = tmp_path / "fleet"
    repo = git.Repo.init(root, initial_branch="main")
    first = commit(root, repo, [("spoke-a", "canary")], "first clusters")
    follower = RepoFollower(hub.store, root.as_uri(), "main", tmp_path / "cache")
    follower.check()
    token = hub.token("agent", "spoke-a")
    assert hub.post(report("spoke-a", revision=first, clusters=[cluster("c1", drifted=2)]), token).status_code == 201
    second = commit(root, repo, [("spoke-a", "canary")], "put c1 back in sync")
    follower.check()
    assert hub.post(report("spoke-a", revision=second, clusters=[cluster("c1")]), token).status_code == 201

    c1 = hub.get("/api/v1/clusters/c1").json()
    assert c1["spoke"] == "spoke-a" and c1["state"] == "in-sync" and c1["declared"] and c1["revision"] == second
    assert c1["desired"]["pools"][0]["desired"] == 2 and c1["pools"][0]["observed"] == 3
    assert c1["revisionInfo"]["message"] == "put c1 back in sync" and c1["spokeState"]["result"] == "applied"
    newest, oldest = c1["changes"]
    assert oldest["what"] == "first reported by spoke-a: drifted" and oldest["message"] == "first clusters"
    assert newest["revision"] == second and newest["message"] == "put c1 back in sync"
    assert "state drifted -> in-sync" in newest["what"] and f"revision {first[:12]} -> {second[:12]}" in newest["what"]
    c2 = hub.get("/api/v1/clusters/c2").json()  # declared, never reported: shown as such, not absent
    assert c2["state"] == "never-reported" and c2["spoke"] == "spoke-a" and c2["changes"] == []
    assert c2["workersDesired"] == 2 and c2["version"] == "1.20.2"
    assert hub.get("/api/v1/clusters/nope").status_code == 404


def _rows(hub: Hub) -> tuple[int, int, dict[str, float | None]]:
    with hub.store.session() as s:
        changes = s.execute(select(func.count()).select_from(ClusterChange)).scalar() or 0
        sources = s.execute(select(func.count()).select_from(SourceState)).scalar() or 0
        changed = dict(s.execute(select(ClusterState.name, ClusterState.changed)).all())
    return changes, sources, changed


def test_rows_are_written_only_when_they_change(hub_db: str) -> None:
    hub = Hub(hub_db)
    tokens = fleet_of(hub, spokes=2, per_spoke=50)
    before = _rows(hub)
    assert before[0] == 100 and before[1] == 10
    steady = [
        cluster(
            f"sp-0-c{i:03d}",
            "1.30.9" if i % 3 == 0 else "1.31.4",
            drifted=int(i % 10 == 1),
            failed=int(i == 2),
            observed=2 if i == 5 else 3,
        )
        for i in range(50)
    ]
    sources = [chart("nginx", "4.1.0", c["name"]) for c in steady[:5]]
    again = report("sp-0", revision="a" * 40, clusters=steady, sources=sources)
    assert hub.post(again, tokens["sp-0"]).status_code == 201
    assert _rows(hub) == before  # the same picture: nothing written, not even the times
    steady[7] = cluster("sp-0-c007", drifted=1)  # one cluster drifts
    assert (
        hub.post(report("sp-0", revision="a" * 40, clusters=steady, sources=sources), tokens["sp-0"]).status_code == 201
    )
    after = _rows(hub)
    assert after[0] == before[0] + 1 and after[1] == before[1]
    assert [n for n in after[2] if after[2][n] != before[2][n]] == ["sp-0-c007"]
    # a report without clusters (a pass that planned nothing) leaves them as they were; a dropped cluster goes
    assert hub.post(report("sp-0", revision="a" * 40), tokens["sp-0"]).status_code == 201
    assert _rows(hub) == after
    assert (
        hub.post(
            report("sp-0", revision="a" * 40, clusters=steady[1:], sources=sources[1:]), tokens["sp-0"]
        ).status_code
        == 201
    )
    assert hub.get("/api/v1/clusters/sp-0-c000").status_code == 404 and _rows(hub)[1] == before[1] - 1


def test_declared_clusters_join_the_reports(hub_db: str, tmp_path: Path) -> None:
    hub = Hub(hub_db)
    root = tmp_path / "fleet"
    repo = git.Repo.init(root, initial_branch="main")
    first = commit(root, repo, [("spoke-a", "canary")], "two clusters")
    follower = RepoFollower(hub.store, root.as_uri(), "main", tmp_path / "cache")
    follower.check()
    states = {c["name"]: c["state"] for c in hub.get("/api/v1/clusters").json()["items"]}
    assert states == {"c1": "never-reported", "c2": "never-reported"}
    token = hub.token("agent", "spoke-a")
    assert (
        hub.post(report("spoke-a", revision=first, clusters=[cluster("c1"), cluster("stray")]), token).status_code
        == 201
    )
    items = {c["name"]: c for c in hub.get("/api/v1/clusters").json()["items"]}
    assert items["c1"]["state"] == "in-sync" and items["c1"]["declared"]
    assert items["stray"]["declared"] is False and items["c2"]["state"] == "never-reported"
    assert [c["name"] for c in hub.get("/api/v1/clusters", state="undeclared").json()["items"]] == ["stray"]
    # c2 leaves the repo: a never-reported cluster is simply gone; c1 leaves too and keeps its reported state
    region_file = root / "environments" / "regions" / "us-south.yaml"
    region_file.write_text(re.sub(r"(?ms)^- name: c2\n.*?(?=^- |\Z)", "", region_file.read_text()))
    repo.git.add(A=True)
    repo.index.commit("drop c2")
    follower.check()
    items = {c["name"]: c for c in hub.get("/api/v1/clusters").json()["items"]}
    assert set(items) == {"c1", "stray"} and items["c1"]["declared"]
    assert hub.get("/api/v1/cluster-counts").json()["undeclared"] == 1


def test_sources_by_chart_across_the_fleet(hub_db: str) -> None:
    hub = Hub(hub_db)
    fleet_of(hub)
    token = hub.token("agent", "sp-9")
    spoke_wide = report("sp-9", revision="b" * 40, clusters=[], sources=[chart("nginx", "4.2.0", None)])
    assert hub.post(spoke_wide, token).status_code == 201
    answer = hub.get("/api/v1/sources", chart="nginx").json()
    by_version = {(x["version"], x["clusters"] > 0): x for x in answer["items"]}
    old, new, shared = by_version["4.1.0", True], by_version["4.2.0", True], by_version["4.2.0", False]
    assert old["spokes"] == 1 and old["clusters"] == 5 and old["where"]["spokes"] == ["sp-0"]
    assert old["where"]["clusters"] == [f"sp-0-c{i:03d}" for i in range(5)]
    assert new["spokes"] == 2 and new["clusters"] == 10 and new["where"]["spokes"] == ["sp-1", "sp-2"]
    assert shared["where"]["spokes"] == ["sp-9"]
    assert hub.get("/api/v1/sources", chart="other").json()["items"] == []
    assert len(hub.get("/api/v1/sources").json()["items"]) == 3
    detail = hub.get("/api/v1/clusters/sp-0-c003").json()
    assert detail["sources"] == [
        {"kind": "HelmChart", "name": "ingress", "chart": "nginx", "version": "4.1.0", "digest": "sha256:410"}
    ]


def test_bad_clusters_and_sources_are_refused_and_change_nothing(hub_db: str) -> None:
    hub = Hub(hub_db)
    token = hub.token("agent", "sp-0")
    good = cluster("c1")
    bad = {
        "a cluster twice": [good, good],
        "a negative count": [{**good, "master": {"synced": -1}}],
        "a string count": [{**good, "pending": "3"}],
        "a control character": [{**good, "name": "c\x00"}],
        "21 pools": [{**good, "pools": good["pools"] * 21}],
        "an unknown field": [{**good, "colour": "red"}],
        "21 out-of-sync keys": [
            cluster("c1", drifted=21)
            | {
                "master": {
                    "outOfSync": [
                        {"group": "", "kind": "A", "namespace": "", "name": str(i), "status": "drifted"}
                        for i in range(21)
                    ]
                }
            }
        ],
    }
    for what, clusters in bad.items():
        assert hub.post(report("sp-0", clusters=clusters), token).status_code == 422, what
    for what, sources in {
        "a source twice": [chart("x", "1", "c1")] * 2,
        "a 254-character chart": [chart("x" * 254, "1", None)],
    }.items():
        assert hub.post(report("sp-0", clusters=[], sources=sources), token).status_code == 422, what
    assert hub.get("/api/v1/clusters").json()["total"] == 0 and hub.get("/api/v1/sources").json()["items"] == []


def test_pages_list_search_and_escape(hub_db: str) -> None:
    hub = Hub(hub_db)
    token = hub.token("agent", "sp-0")
    evil = "<script>alert(1)</script>"
    clusters = [cluster("c1", drifted=1), cluster("c2")]
    clusters[0]["master"]["outOfSync"][0]["name"] = evil
    assert (
        hub.post(
            report("sp-0", revision="c" * 40, clusters=clusters, sources=[chart(evil, "1.0", "c1")]), token
        ).status_code
        == 201
    )
    signed = hub.client.post(
        "/login", data={"token": hub.reader}, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert signed.status_code == 303, signed.text
    listing = hub.client.get("/clusters", params={"prefix": evil, "state": "drifted"})
    assert listing.status_code == 200 and evil not in listing.text and "&lt;script&gt;" in listing.text
    assert "no cluster matches" in listing.text
    listing = hub.client.get("/clusters", params={"state": "drifted"}).text
    assert 'data-cluster="c1"' in listing and 'data-cluster="c2"' not in listing
    page = hub.client.get("/cluster/c1").text
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and 'data-pool="default"' in page
    sources = hub.client.get("/sources", params={"chart": evil}).text
    assert evil not in sources and "c1" in sources
    assert hub.client.get("/cluster/" + "x" * 300).status_code == 404
    assert json.loads(hub.get("/api/v1/clusters/c1").text)["master"]["outOfSync"][0]["name"] == evil


def test_migration_0009_adds_the_tables_as_the_models_declare_them(hub_db: str) -> None:
    """Upgrading a 0008 database adds the tables and nothing else differs from the models; downgrading drops them."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from razee.hub.migrate import upgrade
    from razee.hub.schema import Base
    from razee.hub.store import engine_for

    engine = engine_for(hub_db)
    upgrade(engine, "0008")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if re.search(r"[<'](clusters|cluster_changes|sources)[>']", repr(d))]
    assert ours == []
    from alembic import command
    from alembic.config import Config

    from razee.hub.migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    with engine.connect() as conn:
        names = set(engine.dialect.get_table_names(conn))
    assert not names & {"clusters", "cluster_changes", "sources"} and "spokes" in names
    upgrade(engine)
    engine.dispose()
