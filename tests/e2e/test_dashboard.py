"""The dashboard in headless Chromium against a real hub process that follows the example fleet in a real git repo:
sign-in (token POSTed once, HttpOnly cookie, never in a URL, reader/admin only), sign-out, the fleet by region with
every declared spoke and a legend, the rollout by wave with pause and approve, a page per spoke, and a cross-site
request from another loopback port that must fail to pause or approve. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import git
import httpx
import pytest
import yaml

from tests.conftest import REPO
from tests.helpers.hub import ARTIFACTS, HubProcess, launch_chromium, login
from tests.helpers.reports import bad_reports

ACTOR = git.Actor("Grace Hopper", "grace@example.com")


def example_fleet(root: Path) -> str:
    """The built-in example fleet in a git repo, its main wave needing approval."""
    for part in ("environments", "templates", "charts", "kustomize"):  # what sources read too
        shutil.copytree(REPO / part, root / part)
    spec = yaml.safe_load((root / "environments" / "fleet.yaml").read_text())
    spec["rollout"]["waves"][0]["bakeTime"] = "0s"
    spec["rollout"]["waves"][1]["requireApproval"] = True
    (root / "environments" / "fleet.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.add(A=True)
    repo.index.commit("raise the armada replicas", author=ACTOR, committer=ACTOR)
    return repo.head.commit.hexsha


def report(spoke: str, region: str, revision: str, result: str, wave: str, **extra: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "id": str(uuid.uuid4()),
        "time": time.time(),
        "spoke": spoke,
        "region": region,
        "agent": f"{spoke}-0",
        "result": result,
        "wave": wave,
        "source": {"revision": revision, "author": "Grace Hopper", "message": "raise the armada replicas"},
        "counts": {"synced": 40},
        "durations": {"total": 2.5, "plan": 1.0, "apply": 1.2},
        "infrastructure": {"provider": "local", "planned": 0},
        **extra,
    }


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubProcess, str]]:
    revision = example_fleet(tmp_path / "fleet")
    h = HubProcess(
        f"sqlite:///{tmp_path / 'hub.sqlite'}",
        "--repo",
        (tmp_path / "fleet").as_uri(),
        "--poll",
        "1s",
        "--state-dir",
        str(tmp_path / "cache"),
        log=tmp_path / "hub.log",
    )
    deadline = time.monotonic() + 60
    reader = h.token("reader")
    while (
        httpx.get(f"{h.url}/api/v1/summary", headers={"Authorization": f"Bearer {reader}"}).json()["declaredRevision"]
        != revision
    ):
        assert time.monotonic() < deadline, "the hub did not read the fleet repo"
        time.sleep(0.3)
    yield h, revision
    h.close()


class Attacker(BaseHTTPRequestHandler):
    """Another site on the same host (another port): its page makes the visitor's browser write to the hub."""

    target = ""
    revision = ""

    def do_GET(self) -> None:
        page = f"""<!doctype html><html><body>
<iframe name=a></iframe><iframe name=b></iframe><iframe name=c></iframe>
<form id=pause method=post action="{self.target}/ui/rollout/pause" target=a></form>
<form id=approve method=post action="{self.target}/ui/rollout/approve" target=b>
<input name=revision value="{self.revision}"><input name=wave value=main><input name=csrf value=guessed></form>
<form id=logout method=post action="{self.target}/logout" target=c></form>
<script>
fetch("{self.target}/api/v1/rollout/pause", {{method: "POST", credentials: "include", mode: "no-cors"}});
fetch("{self.target}/api/v1/rollout/approve?revision={self.revision}&wave=main",
      {{method: "POST", credentials: "include", mode: "no-cors"}});
document.getElementById("pause").submit();
document.getElementById("approve").submit();
document.getElementById("logout").submit();
</script></body></html>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: object) -> None:
        pass


def test_dashboard_login_pages_and_cross_site_requests(hub: tuple[HubProcess, str], tmp_path: Path) -> None:
    h, revision = hub
    admin, reader = h.token("admin"), h.token("reader")
    posts: list[tuple[str, str, str, str, dict[str, Any]]] = [
        ("us-south-spoke-1", "us-south", "applied", "canary", {}),
        (
            "us-south-spoke-2",
            "us-south",
            "drifted",
            "main",
            {
                "objects": [
                    {
                        "group": "apps",
                        "kind": "Deployment",
                        "namespace": "armada",
                        "name": "armada-billing",
                        "status": "missing",
                        "message": "missing: razee manages it and it is gone from the cluster",
                    },
                    {
                        "group": "apps",
                        "kind": "Deployment",
                        "namespace": "armada",
                        "name": "armada-api",
                        "status": "drifted",
                        "paths": ["/spec/replicas"],
                        "takeovers": [{"path": "/spec/replicas", "manager": "kubectl-edit"}],
                    },
                ]
            },
        ),
        ("eu-gb-spoke-1", "eu-gb", "failed", "main", {"error": "apply failed: admission webhook denied"}),
        (
            "jp-tok-spoke-1",
            "jp-tok",
            "waiting",
            "main",
            {"rollout": {"revision": revision, "reason": "wave main needs approval"}},
        ),
    ]
    for spoke, region, result, wave, extra in posts:
        r = httpx.post(
            f"{h.url}/api/v1/reports",
            json=report(spoke, region, revision, result, wave, **extra),
            headers={"Authorization": f"Bearer {h.token('agent', spoke)}"},
        )
        assert r.status_code == 201, r.text
    agent_token = h.token("agent", "us-south-spoke-1")
    before = httpx.get(f"{h.url}/api/v1/spokes", headers={"Authorization": f"Bearer {reader}"}).json()
    for name, raw in bad_reports("us-south-spoke-1").items():  # each bad report: 422 from the real process
        r = httpx.post(
            f"{h.url}/api/v1/reports",
            content=raw,
            headers={"Authorization": f"Bearer {agent_token}", "Content-Type": "application/json"},
        )
        assert r.status_code == 422, (name, r.status_code)
    after = httpx.get(f"{h.url}/api/v1/spokes", headers={"Authorization": f"Bearer {reader}"}).json()
    assert [(s["spoke"], s["lastSeen"], s["result"]) for s in after["items"]] == [
        (s["spoke"], s["lastSeen"], s["result"]) for s in before["items"]
    ]  # and changed nothing

    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    Attacker.target, Attacker.revision = h.url, revision
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    profile = tmp_path / "chromium-home"
    with sync_playwright() as p:
        browser = launch_chromium(p, profile)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.goto(f"{h.url}/?token={admin}")  # a token in the URL is not a way in
            assert page.url == f"{h.url}/login"
            page.screenshot(path=str(ARTIFACTS / "dashboard-login.png"))
            login(page, h.url, agent_token)
            assert "only reader and admin tokens" in page.inner_text("#login-error")
            login(page, h.url, "rzh_nope_nope")
            assert "not valid" in page.inner_text("#login-error")

            login(page, h.url, admin)
            assert page.url == f"{h.url}/" and admin not in page.url
            (cookie,) = context.cookies()
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["name"] == "razee_session"
            assert page.evaluate("document.cookie") == ""  # scripts cannot read it
            tiles = page.locator("[data-spoke]")
            assert tiles.count() == 12  # every spoke the example fleet declares, reported or not
            states = {
                tiles.nth(i).get_attribute("data-spoke"): tiles.nth(i).get_attribute("data-state")
                for i in range(tiles.count())
            }
            assert states["us-south-spoke-1"] == "in-sync" and states["us-south-spoke-2"] == "missing"
            assert states["eu-gb-spoke-1"] == "failed" and states["jp-tok-spoke-1"] == "held"
            assert states["eu-de-spoke-1"] == "never-reported"
            legend = page.inner_text("#legend")
            for label in (
                "in sync",
                "drifted",
                "missing objects",
                "failed",
                "rolling out",
                "held by the gate",
                "never reported",
                "stale",
            ):
                assert label in legend
            assert page.locator("[data-region]").count() == 6
            assert "armada-billing" in page.inner_text("#drift") and "/spec/replicas" in page.inner_text("#drift")
            page.screenshot(path=str(ARTIFACTS / "dashboard-fleet.png"), full_page=True)

            page.goto(f"{h.url}/rollout")
            canary = page.locator("[data-wave='canary']").inner_text()
            assert "eu-de-spoke-1" in canary and "never reported" in canary
            main = page.locator("[data-wave='main']").inner_text()
            assert "waiting for 1 of 2 spoke(s)" in main and "eu-de-spoke-1: never reported" in main
            assert "needs approval" in main
            page.screenshot(path=str(ARTIFACTS / "dashboard-rollout.png"), full_page=True)

            page.goto(f"{h.url}/spoke/us-south-spoke-2")
            objects = page.inner_text("#objects")
            assert "armada-billing" in objects and "missing" in objects and "kubectl-edit" in objects
            assert "raise the armada replicas" in page.inner_text("#revision")
            assert "2.5s" in page.inner_text("#history") and "local" in page.inner_text("#infra")
            page.screenshot(path=str(ARTIFACTS / "dashboard-spoke.png"), full_page=True)

            # another site on this host makes the admin's browser post to the hub: nothing changes
            evil = context.new_page()
            evil.goto(f"http://127.0.0.1:{attacker.server_port}/")
            evil.wait_for_timeout(2000)
            refusals = " ".join(f.content() for f in evil.frames[1:])
            assert "CSRF token missing or wrong" in refusals  # the cookie went along; the CSRF check refused
            state = httpx.get(
                f"{h.url}/api/v1/rollout", params={"revision": revision}, headers={"Authorization": f"Bearer {reader}"}
            ).json()
            assert state["pausedBy"] == "" and state["approved"] == {}
            page.goto(f"{h.url}/")
            assert page.url == f"{h.url}/"  # and the forged logout did not sign the admin out

            # the admin's own forms work: pause, resume, approve
            page.goto(f"{h.url}/rollout")
            page.click("#pause")
            assert "Paused by token" in page.inner_text("#paused")
            page.click("#resume")
            page.click("[data-wave='main'] .approve")
            assert "approved by token" in page.locator("[data-wave='main']").inner_text()

            # a reader sees the pages but has no buttons, and cannot act through the forms
            reader_page = browser.new_context().new_page()
            login(reader_page, h.url, reader)
            reader_page.goto(f"{h.url}/rollout")
            assert reader_page.locator("#pause").count() == 0

            page.click("#logout")
            assert page.url == f"{h.url}/login"
            page.goto(f"{h.url}/rollout")
            assert page.url == f"{h.url}/login"  # signed out: the cookie is gone
        finally:
            browser.close()
            attacker.shutdown()


def test_dashboard_at_the_seeds_scale(tmp_path: Path) -> None:
    """60 spokes and 15,000 clusters (the generated fleet of scripts/bench): every spoke on one readable page."""
    import sys

    sys.path.insert(0, str(REPO / "scripts" / "bench"))
    from fleetgen import generate

    root = generate(tmp_path / "fleet", REPO)
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.add(A=True)
    repo.index.commit("the seed's fleet", author=ACTOR, committer=ACTOR)
    revision = repo.head.commit.hexsha
    h = HubProcess(
        f"sqlite:///{tmp_path / 'hub.sqlite'}",
        "--repo",
        root.as_uri(),
        "--poll",
        "1s",
        "--state-dir",
        str(tmp_path / "cache"),
        log=tmp_path / "hub.log",
    )
    try:
        reader = h.token("reader")
        deadline = time.monotonic() + 180
        while (
            httpx.get(f"{h.url}/api/v1/summary", headers={"Authorization": f"Bearer {reader}"}).json()[
                "declaredRevision"
            ]
            != revision
        ):
            assert time.monotonic() < deadline, "the hub did not read the fleet repo"
            time.sleep(0.5)
        regions = ["us-south", "us-east", "eu-de", "eu-gb", "jp-tok", "au-syd"]
        for i, region in enumerate(regions):
            for n in range(1, 11 - i):  # some regions report fully, others partly
                spoke = f"{region}-spoke-{n}"
                drift = (
                    [
                        {
                            "group": "apps",
                            "kind": "Deployment",
                            "namespace": f"master-{region}-c{n:05d}",
                            "name": "kube-apiserver",
                            "status": "drifted",
                            "paths": ["/spec/replicas"],
                        }
                    ]
                    if n == 3
                    else []
                )
                body = report(
                    spoke,
                    region,
                    revision,
                    "drifted" if drift else "in-sync",
                    "canary" if n == 1 else "main",
                    objects=drift,
                )
                r = httpx.post(
                    f"{h.url}/api/v1/reports", json=body, headers={"Authorization": f"Bearer {h.token('agent', spoke)}"}
                )
                assert r.status_code == 201, r.text
        summary = httpx.get(f"{h.url}/api/v1/summary", headers={"Authorization": f"Bearer {reader}"}).json()
        assert summary["spokes"] == 60 and summary["clusters"] == 15_000 and summary["neverReported"] == 15

        from playwright.sync_api import sync_playwright

        profile = tmp_path / "chromium-home"
        with sync_playwright() as p:
            browser = launch_chromium(p, profile)
            try:
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                login(page, h.url, reader)
                assert page.locator("[data-spoke]").count() == 60
                assert page.locator("[data-state='never-reported']").count() == 15
                assert "15000 clusters" in page.inner_text("#summary")
                page.screenshot(path=str(ARTIFACTS / "dashboard-fleet-60-spokes.png"), full_page=True)
                page.goto(f"{h.url}/rollout")
                assert page.locator("[data-wave]").count() == 2
                page.screenshot(path=str(ARTIFACTS / "dashboard-rollout-60-spokes.png"), full_page=True)
            finally:
                browser.close()
    finally:
        h.close()
