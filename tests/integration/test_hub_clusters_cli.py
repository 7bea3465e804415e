"""`razee hub clusters`, `razee hub cluster NAME` and `razee hub sources` against a real `razee hub serve` process on
SQLite and PostgreSQL, as a person would run them (issue 28)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_razee
from tests.helpers.clusters import chart, cluster
from tests.helpers.hubprocs import HubProcess, post
from tests.helpers.reports import report


def test_cli_lists_filters_and_shows_clusters_and_sources(hub_db: str, tmp_path: Path) -> None:
    hub = HubProcess(hub_db, log=tmp_path / "hub.log")
    try:
        agent = hub.token("agent", "sp-0")
        clusters = [cluster("blue-1"), cluster("blue-2", drifted=1), cluster("red-1", version="1.30.9")]
        body = report(
            "sp-0",
            region="eu-de",
            revision="d" * 40,
            clusters=clusters,
            sources=[chart("nginx", "4.1.0", "blue-1"), chart("nginx", "4.2.0", "red-1")],
        )
        assert post(hub, agent, body).status_code == 201
        env = {"RAZEE_HUB": hub.url, "RAZEE_HUB_TOKEN": hub.token("reader")}

        out = run_razee("hub", "clusters", "--prefix", "blue", "-o", "json", env=env)
        assert out.returncode == 0, out.stderr
        assert [c["name"] for c in json.loads(out.stdout)["items"]] == ["blue-1", "blue-2"]
        out = run_razee("hub", "clusters", "--state", "drifted", "--region", "eu-de", env=env)
        assert out.returncode == 0 and "blue-2" in out.stdout and "blue-1" not in out.stdout, out.stderr
        assert "1 of 1 clusters" in out.stdout
        out = run_razee("hub", "clusters", "--version", "1.30", "--limit", "1", env=env)
        assert "red-1" in out.stdout and "1 of 1" in out.stdout
        out = run_razee("hub", "clusters", "--limit", "2", env=env)
        assert "next page: --after blue-2" in out.stdout

        out = run_razee("hub", "cluster", "blue-2", env=env)
        assert out.returncode == 0, out.stderr
        assert "cluster blue-2: drifted" in out.stdout and "spoke sp-0 (eu-de)" in out.stdout
        assert "drifted: ConfigMap master-blue-2/cm0" in out.stdout and "b3c.4x16" in out.stdout
        assert "first reported by sp-0" in out.stdout
        missing = run_razee("hub", "cluster", "nope", env=env)
        assert missing.returncode != 0 and "404" in missing.stderr

        out = run_razee("hub", "sources", "--chart", "nginx", "-o", "json", env=env)
        assert out.returncode == 0, out.stderr
        where = {x["version"]: x["where"]["clusters"] for x in json.loads(out.stdout)["items"]}
        assert where == {"4.1.0": ["blue-1"], "4.2.0": ["red-1"]}
        out = run_razee("hub", "sources", env=env)
        assert out.returncode == 0 and "4.1.0" in out.stdout and "4.2.0" in out.stdout
    finally:
        hub.close()
