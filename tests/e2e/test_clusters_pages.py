"""The clusters, cluster and sources pages in headless Chromium against a real hub process that follows the example
fleet in a real git repo (issue 28): a declared cluster no report mentions is shown as never reported; reported
clusters are searched by name, filtered by state and paged; a cluster's page shows its spoke, revision, master
objects out of sync, workers per pool, sources and last changes; input is escaped. Screenshots go to the test's
tmp dir."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import git
import httpx

from razee.fleet.loader import load_fleet
from razee.source.local import BUILTIN_FLEET
from tests.helpers.clusters import chart, cluster
from tests.helpers.hub import HubProcess, launch_chromium, login
from tests.helpers.reports import report

SPOKE = "us-south-spoke-1"


def test_cluster_pages_in_chromium(tmp_path: Path) -> None:
    origin = tmp_path / "fleet"
    for part in ("environments", "templates", "charts", "kustomize"):  # what sources read too
        shutil.copytree(BUILTIN_FLEET / part, origin / part)
    repo = git.Repo.init(origin, initial_branch="main")
    repo.git.add(A=True)
    actor = git.Actor("Grace Hopper", "grace@example.com")
    revision = repo.index.commit("raise the armada replicas", author=actor, committer=actor).hexsha
    fleet = load_fleet(origin)
    declared = sorted(c.name for v in fleet.spokes() for c in v.clusters)
    view = fleet.find_spoke(SPOKE)
    assert view is not None and len(view.clusters) >= 2
    mine = [c.name for c in view.clusters]
    hub = HubProcess(
        f"sqlite:///{tmp_path / 'hub.sqlite'}",
        "--repo",
        origin.as_uri(),
        "--poll",
        "1s",
        "--state-dir",
        str(tmp_path / "cache"),
        log=tmp_path / "hub.log",
    )
    try:
        reader = hub.token("reader")
        deadline = time.monotonic() + 120
        while httpx.get(f"{hub.url}/api/v1/cluster-counts", headers={"Authorization": f"Bearer {reader}"}).json()[
            "total"
        ] < len(declared):
            assert time.monotonic() < deadline, "the hub did not declare the example fleet's clusters"
            time.sleep(0.3)
        clusters = [cluster(mine[0], drifted=2), *(cluster(n) for n in mine[1:])]
        clusters[0]["master"]["outOfSync"][1]["name"] = "<img src=x onerror=alert(1)>"
        body = report(
            SPOKE, revision=revision, clusters=clusters, sources=[chart("ingress-nginx", "4.10.0", n) for n in mine]
        )
        r = httpx.post(
            f"{hub.url}/api/v1/reports", json=body, headers={"Authorization": f"Bearer {hub.token('agent', SPOKE)}"}
        )
        assert r.status_code == 201, r.text
        _browse(hub, reader, tmp_path, declared, mine)
    finally:
        hub.close()


def _browse(hub: HubProcess, reader: str, tmp_path: Path, declared: list[str], mine: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p, tmp_path / "chromium-home")
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()

            def on_dialog(dialog: Any) -> None:  # a script that ran would show itself here
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            login(page, hub.url, reader)
            page.goto(f"{hub.url}/clusters")
            assert f"{len(declared)} clusters" in page.inner_text("#counts")
            rows = page.locator("#clusters tr[data-cluster]")
            assert rows.count() == min(100, len(declared))  # one page
            page.screenshot(path=str(shots / "clusters.png"), full_page=True)

            never = next(n for n in declared if n not in mine)
            page.fill("#prefix", never)
            page.click("#search")
            assert page.locator(f'tr[data-cluster="{never}"]').get_attribute("data-state") == "never-reported"

            page.goto(f"{hub.url}/clusters")
            page.select_option("#state", "drifted")
            page.click("#search")
            assert [r.get_attribute("data-cluster") for r in page.locator("#clusters tr[data-cluster]").all()] == [
                mine[0]
            ]
            page.screenshot(path=str(shots / "clusters-drifted.png"), full_page=True)
            page.click(f'a[href="/cluster/{mine[0]}"]')
            assert page.url == f"{hub.url}/cluster/{mine[0]}"
            assert page.inner_text("#state") == "drifted" and "us-south-spoke-1" in page.inner_text("#where")
            assert "raise the armada replicas" in page.inner_text("#revision")
            assert "<img src=x onerror=alert(1)>" in page.inner_text("#objects")  # shown as text, never run
            assert page.locator("#pools tr[data-pool]").count() == 1 and "ingress-nginx" in page.inner_text("#sources")
            assert "first reported by us-south-spoke-1" in page.inner_text("#changes")
            page.screenshot(path=str(shots / "cluster.png"), full_page=True)

            page.click('#sources a[href^="/sources?chart="]')
            assert page.locator("#sources tr[data-version]").count() == 1
            assert all(n in page.inner_text("#sources") for n in mine)
            page.screenshot(path=str(shots / "sources.png"), full_page=True)

            page.goto(f"{hub.url}/spoke/{SPOKE}")  # the spoke's page lists its clusters and their workers
            assert page.locator("#spoke-clusters tr[data-cluster]").count() == len(mine)
            assert "no infrastructure reported" not in page.inner_text("#infra")
            page.screenshot(path=str(shots / "spoke.png"), full_page=True)

            if len(declared) > 100:
                page.goto(f"{hub.url}/clusters")
                page.click("#next")
                first = page.locator("#clusters tr[data-cluster]").first.get_attribute("data-cluster")
                assert first == declared[100]
            page.goto(f"{hub.url}/clusters?prefix=%3Cscript%3Ealert(1)%3C/script%3E")
            assert page.input_value("#prefix") == "<script>alert(1)</script>" and "no cluster matches" in page.content()
            assert dialogs == []
        finally:
            browser.close()
    assert all((shots / f).stat().st_size > 0 for f in ("clusters.png", "cluster.png", "sources.png"))
