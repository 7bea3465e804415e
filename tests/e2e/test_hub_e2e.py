"""The hub as real processes: `razee hub serve`, the hub CLI, the dashboard in headless Chromium, and two spokes
(two kube-apiservers) with two agents reporting to one hub."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from razee.agent.core import Agent, AgentSettings
from razee.reconcile import PassOptions
from tests.conftest import run_razee
from tests.helpers.agent import FleetRepo
from tests.helpers.hub import ARTIFACTS, HubProcess, launch_chromium, login


@pytest.fixture
def hub(hub_db: str) -> Iterator[HubProcess]:
    h = HubProcess(hub_db)
    yield h
    h.close()


def test_two_spokes_two_agents_one_hub_cli_and_dashboard(
    hub: HubProcess, tmp_path: Path, cluster_factory: Callable[[str], str]
) -> None:
    agents = []
    run = secrets.token_hex(3)  # fresh clusters per database backend: nothing carries over between runs
    spoke_a, spoke_b = f"e2e-{run}-a", f"e2e-{run}-b"
    for name in (spoke_a, spoke_b):
        kubeconfig = cluster_factory(name)
        api = config.new_client_from_config(config_file=kubeconfig)
        core = client.CoreV1Api(api)
        if "e2e" not in {n.metadata.name for n in core.list_namespace().items}:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="e2e")))
        api.close()
        fleet = FleetRepo(tmp_path / name, "e2e")
        fleet.spoke = name
        fleet.commit("v1")
        token = hub.token("agent", name)
        agents.append(
            (
                fleet,
                Agent(
                    AgentSettings(
                        spoke=name,
                        repo=fleet.url,
                        kubeconfig=kubeconfig,
                        state_dir=tmp_path / name / "state",
                        hub=hub.url,
                        hub_token=token,
                        pass_options=PassOptions(infra=False),
                    )
                ),
            )
        )
    for _, agent in agents:
        agent.report(agent.run_pass(leader=True))
        assert len(agent.outbox) == 0  # delivered
    # spoke-b drifts: a hand edit the agent reports (not healing)
    _, agent_b = agents[1]
    api = config.new_client_from_config(config_file=agent_b.s.kubeconfig or "")
    client.CoreV1Api(api).patch_namespaced_config_map("app", "e2e", {"data": {"value": "edited"}})
    api.close()
    agent_b.report(agent_b.run_pass(leader=True))

    reader = hub.token("reader")
    env = {"RAZEE_HUB_TOKEN": reader, "RAZEE_HUB": hub.url}
    status = run_razee("hub", "status", "-o", "json", env=env)
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    assert doc["summary"]["spokes"] == 2
    assert {s["spoke"]: s["result"] for s in doc["spokes"]} == {spoke_a: "applied", spoke_b: "drifted"}
    table = run_razee("hub", "status", env=env)
    assert spoke_a in table.stdout and "drifted" in table.stdout
    drift = json.loads(run_razee("hub", "drift", "--spoke", spoke_b, "-o", "json", env=env).stdout)
    assert [(d["kind"], d["name"], d["paths"]) for d in drift] == [("ConfigMap", "app", ["/data/value"])]
    revision = agents[0][0].repo.head.commit.hexsha
    rollout = json.loads(run_razee("hub", "rollout", revision, "-o", "json", env=env).stdout)
    assert rollout["applied"] == [spoke_a]
    denied = run_razee("hub", "status", env={**env, "RAZEE_HUB_TOKEN": "rzh_bad_token"})
    assert denied.returncode == 2 and "refused the token" in denied.stderr

    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        profile = tmp_path / "chromium-home"  # Chromium writes crash-report folders and dconf under $HOME
        browser = launch_chromium(p, profile)
        try:
            page = browser.new_page()
            login(page, hub.url, reader)
            assert "2 spokes" in page.inner_text("#summary")
            assert page.locator(f"[data-spoke='{spoke_a}']").count() == 1
            assert page.locator(f"[data-spoke='{spoke_b}']").get_attribute("data-state") == "drifted"
            assert "/data/value" in page.inner_text("#drift")
            page.screenshot(path=str(ARTIFACTS / f"dashboard-{os.path.basename(hub.db)[:8]}.png"), full_page=True)
            page.reload()  # the token rides in an HttpOnly cookie, never in the URL
            assert page.locator("[data-spoke]").count() == 2 and reader not in page.url
            page.goto(f"{hub.url}/rollout")
            assert "1 applied" in page.inner_text(f"[data-revision='{revision}'] .counts")
            anonymous = browser.new_page()
            anonymous.goto(hub.url + "/")
            assert anonymous.url.endswith("/login") and "reader or admin token" in anonymous.inner_text("body")
        finally:
            browser.close()
