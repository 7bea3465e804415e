"""A revision's rollout stays true after the fleet moved on (issue 28): the quickstart's case, through a real hub
process that follows a real fleet repo, on SQLite and PostgreSQL, read through the API, `razee rollout status`
and the dashboard in headless Chromium.

The case: a canary wave of two spokes, one of which never reports (its progress deadline counts it as a tolerated
failure), and a main wave. Revision 1 rolls out everywhere; revision 2 follows and also rolls out. Before the fix,
revision 1's view judged each spoke by its current state: the live canary, now on revision 2, read as "no progress
in time", and revision 1 as halted with two failed canaries.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import git
import httpx

from tests.conftest import run_razee
from tests.fleetrepo import commit
from tests.helpers.hub import ARTIFACTS, HubProcess, launch_chromium, login
from tests.helpers.hubprocs import post, wait_for
from tests.helpers.reports import report

WAVES: list[dict[str, Any]] = [
    {"name": "canary", "bakeTime": "0s", "progressDeadline": "2s", "maxFailures": 1},
    {"name": "main", "bakeTime": "0s", "progressDeadline": "2s"},
]
SPOKES = [("canary-live", "canary"), ("canary-dead", "canary"), ("main-1", "main")]


def _rollout(h: HubProcess, token: str, revision: str) -> dict[str, Any]:
    r = httpx.get(
        f"{h.url}/api/v1/rollout",
        params={"revision": revision},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _known(h: HubProcess, token: str, revision: str) -> bool:
    r = httpx.get(f"{h.url}/api/v1/revisions", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return any(i["revision"] == revision and i["declared"] for i in r.json()["items"])


def _roll_out(h: HubProcess, tokens: dict[str, str], revision: str, reader: str) -> None:
    """The live canary applies, the dead one's deadline passes, then the main wave applies (healthy each)."""
    wait_for(f"the hub to read {revision[:12]}", lambda: _known(h, reader, revision))
    assert post(h, tokens["canary-live"], report("canary-live", revision=revision, wave="canary")).status_code == 201
    wait_for(
        "the canary wave to pass (the dead canary tolerated)",
        lambda: _rollout(h, reader, revision)["waves"][1]["gate"]["allowed"],
        timeout=180,
    )
    assert post(h, tokens["main-1"], report("main-1", revision=revision, wave="main")).status_code == 201


def test_an_older_revision_keeps_its_true_rollout_after_the_fleet_moved_on(hub_db: str, tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    repo = git.Repo.init(root, initial_branch="main")
    first = commit(root, repo, SPOKES, "first", waves=WAVES)
    h = HubProcess(
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
        reader = h.token("reader")
        tokens = {s: h.token("agent", s) for s in ("canary-live", "main-1")}
        _roll_out(h, tokens, first, reader)
        done = _rollout(h, reader, first)
        assert done["applied"] == ["canary-live", "main-1"] and done["halted"] == "" and not done["supersededBy"]

        second = commit(root, repo, SPOKES, "second", waves=WAVES)
        _roll_out(h, tokens, second, reader)
        time.sleep(3)  # past every progress deadline of both revisions

        old = _rollout(h, reader, first)
        assert old["supersededBy"] == second
        assert old["applied"] == ["canary-live", "main-1"], old  # they applied it, healthy, before moving on
        assert old["failed"] == ["canary-dead"] and old["halted"] == "", old  # only the silent one; not halted
        canary, main = old["waves"]
        assert canary["applied"] == ["canary-live"] and canary["timedOut"] == ["canary-dead"]
        assert main["applied"] == ["main-1"] and main["waiting"] == {} and main["timedOut"] == []
        assert "superseded by" in canary["gate"]["reason"] and "halted" not in json.dumps(old["waves"])
        new = _rollout(h, reader, second)
        assert new["applied"] == ["canary-live", "main-1"] and new["supersededBy"] == "" and new["halted"] == ""

        # the CLI tells the same story
        cli = run_razee("rollout", "status", first, "--hub", h.url, env={"RAZEE_HUB_TOKEN": reader})
        assert cli.returncode == 0, cli.stderr
        assert f"superseded by {second[:12]}" in cli.stdout and "HALTED" not in cli.stdout, cli.stdout
        assert "no progress" not in cli.stdout
        lines = {ln.split()[0]: ln for ln in cli.stdout.splitlines()[1:] if ln.startswith("  ") and ln.split()}
        assert "canary-live, main-1" in lines["applied"] and "canary-dead" in lines["failed"], cli.stdout

        # and so does the dashboard, in a real browser
        from playwright.sync_api import sync_playwright

        ARTIFACTS.mkdir(exist_ok=True)
        profile = tmp_path / "chromium-home"
        with sync_playwright() as p:
            browser = launch_chromium(p, profile)
            try:
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                login(page, h.url, reader)
                page.goto(f"{h.url}/rollout")
                section = page.locator(f'section.revision[data-revision="{first}"]')
                text = section.inner_text()
                assert f"Superseded by {second[:12]}" in text, text
                assert "2 applied" in text and "no progress in time" in text  # the dead canary, truthfully
                assert section.locator(".halt").count() == 0, text
                live = section.locator('div.wave[data-wave="canary"] tr', has_text="applied").first.inner_text()
                assert "canary-live" in live
                newest = page.locator(f'section.revision[data-revision="{second}"]').inner_text()
                assert "Superseded" not in newest and "2 applied" in newest
                page.screenshot(path=str(ARTIFACTS / "rollout-history.png"), full_page=True)
            finally:
                browser.close()
    finally:
        h.close()


def test_a_halted_revision_is_halted_only_until_a_fix_supersedes_it(hub_db: str, tmp_path: Path) -> None:
    """Halted while it is the rollout going on; superseded (not halted) once a fix-forward is taken, its failure
    still on record."""
    root = tmp_path / "fleet"
    repo = git.Repo.init(root, initial_branch="main")
    spokes = [("canary-live", "canary"), ("main-1", "main")]
    waves: list[dict[str, Any]] = [
        {"name": "canary", "bakeTime": "0s", "maxFailures": 0},
        {"name": "main", "bakeTime": "0s"},
    ]
    bad = commit(root, repo, spokes, "bad", waves=waves)
    h = HubProcess(
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
        reader = h.token("reader")
        canary = h.token("agent", "canary-live")
        wait_for("the hub to read the bad revision", lambda: _known(h, reader, bad))
        assert (
            post(
                h, canary, report("canary-live", revision=bad, wave="canary", result="failed", error="apply failed")
            ).status_code
            == 201
        )
        halted = _rollout(h, reader, bad)
        assert halted["halted"] and "canary-live" in halted["halted"] and halted["failed"] == ["canary-live"]

        fix = commit(root, repo, spokes, "fix", waves=waves)
        wait_for("the hub to read the fix", lambda: _known(h, reader, fix))
        still = _rollout(h, reader, bad)  # nobody took the fix yet: the bad revision is still the one halted
        assert still["halted"] and still["supersededBy"] == ""
        assert post(h, canary, report("canary-live", revision=fix, wave="canary")).status_code == 201
        after = _rollout(h, reader, bad)
        assert after["supersededBy"] == fix and after["halted"] == ""
        assert after["failed"] == ["canary-live"] and after["skipped"] == ["main-1"], after
        assert _rollout(h, reader, fix)["applied"] == ["canary-live"]
    finally:
        h.close()
