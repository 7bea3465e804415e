"""The spoke agent against a real apiserver and real git repositories: faults it must live through."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from razee.agent.core import Agent, AgentSettings
from razee.agent.delivery import Delivery
from razee.agent.outbox import Outbox
from razee.reconcile import PassOptions
from tests.gitserver import GitHttpServer
from tests.helpers.agent import FleetRepo
from tests.sshserver import SshServer


def step(agent: Agent) -> Any:
    """One pass, reported to the outbox, as the agent's loop does it."""
    outcome = agent.run_pass(leader=True)
    agent.report(outcome)
    return outcome


@pytest.fixture
def fleet(tmp_path: Path, namespace: str) -> FleetRepo:
    return FleetRepo(tmp_path, namespace)


def live_value(api_client: client.ApiClient, namespace: str) -> str | None:
    try:
        return client.CoreV1Api(api_client).read_namespaced_config_map("app", namespace).data["value"]
    except client.ApiException:
        return None


def test_bad_commits_are_rejected_and_the_last_good_one_enforced(
    fleet: FleetRepo, tmp_path: Path, kubeconfig: str, api_client: client.ApiClient
) -> None:
    good = fleet.commit("v1")
    agent = fleet.agent(tmp_path, kubeconfig)
    first = step(agent)
    assert first.result == "applied" and first.source["revision"] == good
    assert live_value(api_client, fleet.namespace) == "v1"

    fleet.commit("v2", template="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {v: {{ nope }}}\n")
    bad = step(agent)
    assert bad.result == "rejected"
    assert any("templates/spoke/app.yaml.j2:4: undefined value" in f for f in bad.findings)
    assert bad.source["revision"] == good  # still enforcing the last good revision
    assert live_value(api_client, fleet.namespace) == "v1"

    evil = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: " + fleet.namespace + "}\nspec:\n"
        "  containers: [{name: c, image: docker.io/evil:1, resources: {requests: {cpu: 1m, memory: 1Mi}, "
        "limits: {cpu: 1m, memory: 1Mi}}}]\n"
    )
    fleet.commit("v2", template=evil)
    refused = step(agent)
    assert refused.result == "rejected" and any("[allowed-registries]" in f for f in refused.findings)

    fixed = fleet.commit("v3")
    ok = step(agent)
    assert ok.result == "applied" and ok.source["revision"] == fixed
    assert live_value(api_client, fleet.namespace) == "v3"
    report = agent.outbox.pending()
    assert [r.body["result"] for r in report] == ["applied", "rejected", "rejected", "applied"]


def test_drift_is_reported_and_healed_only_with_self_heal(
    fleet: FleetRepo, tmp_path: Path, kubeconfig: str, api_client: client.ApiClient
) -> None:
    fleet.commit("v1")
    agent = fleet.agent(tmp_path, kubeconfig)
    assert agent.run_pass(leader=True).result == "applied"
    core = client.CoreV1Api(api_client)
    core.patch_namespaced_config_map("app", fleet.namespace, {"data": {"value": "hand-edited"}})
    drifted = agent.run_pass(leader=True)
    assert drifted.result == "drifted"
    (obj,) = [o for o in drifted.objects if o["status"] == "drifted"]
    assert obj["name"] == "app" and obj["paths"] == ["/data/value"]
    assert live_value(api_client, fleet.namespace) == "hand-edited"  # reported, not touched
    healer = fleet.agent(tmp_path, kubeconfig, name="healer", self_heal=True)
    healer.state.last_applied = healer.state.last_good = None
    first = healer.run_pass(leader=True)  # a fresh agent sees the revision as new and applies it
    assert first.result == "applied"
    core.patch_namespaced_config_map("app", fleet.namespace, {"data": {"value": "hand-edited-again"}})
    healed = healer.run_pass(leader=True)
    assert healed.result == "healed"
    assert live_value(api_client, fleet.namespace) == "v1"


def test_force_push_is_followed(
    fleet: FleetRepo, tmp_path: Path, kubeconfig: str, api_client: client.ApiClient
) -> None:
    fleet.commit("v1")
    fleet.commit("v2")
    agent = fleet.agent(tmp_path, kubeconfig)
    assert agent.run_pass(leader=True).result == "applied"
    fleet.repo.git.reset("--hard", "HEAD~1")  # history rewritten: v2 is gone
    rewritten = fleet.commit("v2-rewritten", message="rewritten history")
    out = agent.run_pass(leader=True)
    assert out.result == "applied" and out.source["revision"] == rewritten
    assert live_value(api_client, fleet.namespace) == "v2-rewritten"


def test_unreachable_git_keeps_enforcing_then_catches_up(
    fleet: FleetRepo, tmp_path: Path, kubeconfig: str, api_client: client.ApiClient
) -> None:
    good = fleet.commit("v1")
    agent = fleet.agent(tmp_path, kubeconfig)
    assert agent.run_pass(leader=True).result == "applied"
    hidden = tmp_path / "hidden"
    shutil.move(fleet.path, hidden)  # the git server is gone
    during = agent.run_pass(leader=True)
    assert during.result == "in-sync" and during.source["revision"] == good
    shutil.move(hidden, fleet.path)
    newer = fleet.commit("v2")
    after = agent.run_pass(leader=True)
    assert after.result == "applied" and after.source["revision"] == newer
    assert live_value(api_client, fleet.namespace) == "v2"


def test_only_the_lease_holder_applies(
    fleet: FleetRepo, tmp_path: Path, kubeconfig: str, api_client: client.ApiClient
) -> None:
    fleet.commit("v1")
    first, second = fleet.agent(tmp_path, kubeconfig, "one"), fleet.agent(tmp_path, kubeconfig, "two")
    lead1, e1 = first.elect()
    lead2, e2 = second.elect()
    assert (lead1, lead2) == (True, False)
    standby = second.run_pass(leader=lead2)
    assert standby.result == "standby"
    assert live_value(api_client, fleet.namespace) is None  # the standby applied nothing
    assert first.run_pass(leader=lead1).result == "applied"
    for e in (e1, e2):
        assert e is not None
        e.kube.close()


class Hub:
    """A minimal HTTP endpoint that records report ids in arrival order (the hub itself is issue 7)."""

    def __init__(self, port: int) -> None:
        received: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.append(body["id"])
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_reports_survive_a_hub_outage_and_arrive_in_order(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outbox = Outbox(tmp_path / "outbox.sqlite")
    delivery = Delivery(outbox, f"http://127.0.0.1:{port}", "t")
    ids = [f"r{i}" for i in range(5)]
    for i in ids:
        outbox.put(i, {"id": i})
        assert delivery.flush() == 0  # hub down: nothing lost, everything queued
        delivery.next_try = 0
    outbox.close()
    outbox = Outbox(tmp_path / "outbox.sqlite")  # the agent restarted meanwhile
    assert len(outbox) == 5
    hub = Hub(port)
    try:
        delivery = Delivery(outbox, f"http://127.0.0.1:{port}", "t")
        assert delivery.flush() == 5
        assert hub.received == ids
        assert len(outbox) == 0
    finally:
        hub.close()
        outbox.close()


def test_sigterm_finishes_the_pass_and_releases_the_lease(
    fleet: FleetRepo, tmp_path: Path, kubeconfig: str, api_client: client.ApiClient
) -> None:
    revision = fleet.commit("v1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "razee",
            "agent",
            "--spoke",
            fleet.spoke,
            "--repo",
            fleet.url,
            "--kubeconfig",
            kubeconfig,
            "--state-dir",
            str(tmp_path / "proc"),
            "--interval",
            "2s",
            "--poll",
            "1s",
            "--no-infra",
            "--identity",
            "proc",
            "--listen",
            f"127.0.0.1:{port}",
        ],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while live_value(api_client, fleet.namespace) != "v1":
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.2)
    health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert health.status == 200
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert f'razee_source_info{{revision="{revision}"}} 1.0' in metrics
    assert "razee_pass_duration_seconds_count" in metrics and "razee_leader 1.0" in metrics
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    lease = client.CoordinationV1Api(api_client).read_namespaced_lease(f"razee-agent-{fleet.spoke}", "razee-system")
    assert not lease.spec.holder_identity  # released: another replica need not wait for it to expire


def test_apiserver_outage_mid_loop_then_convergence(tmp_path: Path, cluster_factory: Any) -> None:
    kubeconfig = cluster_factory("agent-outage")
    testenv = [sys.executable, str(Path(__file__).resolve().parents[2] / "scripts" / "testenv")]
    api = config.new_client_from_config(config_file=kubeconfig)
    client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="outage")))
    fleet = FleetRepo(tmp_path, "outage")
    fleet.commit("v1")
    agent = fleet.agent(tmp_path, kubeconfig)
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while live_value(api, "outage") != "v1":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        subprocess.run([*testenv, "pause", "agent-outage"], check=True)
        fleet.commit("v2")
        time.sleep(3)  # passes fail meanwhile; the agent keeps going and backs off
        subprocess.run([*testenv, "start", "agent-outage"], check=True, capture_output=True)
        deadline = time.monotonic() + 60
        while live_value(api, "outage") != "v2":
            assert time.monotonic() < deadline, "the agent did not converge after the apiserver came back"
            time.sleep(0.3)
    finally:
        agent.stop.set()
        runner.join(timeout=30)
        api.close()
    results = [q.body["result"] for q in Outbox(tmp_path / "agent" / "outbox.sqlite").pending(1000)]
    assert "failed" in results and results[-1] in ("applied", "in-sync")
    assert results.index("failed") < len(results) - 1


def test_follows_a_repo_over_http_with_a_token_that_never_leaks(
    fleet: FleetRepo, tmp_path: Path, kubeconfig: str, api_client: client.ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.commit("over-http")
    token = f"tok-{secrets.token_hex(12)}"
    server = GitHttpServer(tmp_path, token=token)
    try:
        agent = Agent(
            AgentSettings(
                spoke=fleet.spoke,
                repo=server.url("origin"),
                kubeconfig=kubeconfig,
                state_dir=tmp_path / "http-agent",
                pass_options=PassOptions(infra=False),
            )
        )
        monkeypatch.setenv("RAZEE_GIT_TOKEN", token)
        out = agent.run_pass(leader=True)
        assert out.result == "applied", out.error
        assert live_value(api_client, fleet.namespace) == "over-http"
        fresh = Agent(
            AgentSettings(
                spoke=fleet.spoke,
                repo=server.url("origin"),
                kubeconfig=kubeconfig,
                state_dir=tmp_path / "http-agent-2",
                pass_options=PassOptions(infra=False),
            )
        )
        monkeypatch.setenv("RAZEE_GIT_TOKEN", "wrong-" + token)
        denied = fresh.run_pass(leader=True)
        assert denied.result == "failed"
        assert "cannot fetch main from http://127.0.0.1" in (denied.error or "")
        assert token not in json.dumps(denied.to_report())
    finally:
        server.close()


def test_sigkill_mid_apply_then_restart_leaves_nothing_orphaned(
    tmp_path: Path, kubeconfig: str, api_client: client.ApiClient
) -> None:
    namespace = f"rt-{secrets.token_hex(4)}"
    core = client.CoreV1Api(api_client)
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace, labels={"created-by": "razee-tests"}))
    )

    def config_maps(numbers: range) -> str:
        return "".join(
            f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}, namespace: {namespace}}}\n"
            f"data: {{i: '{i}'}}\n"
            for i in numbers
        )

    def live() -> set[str]:
        return {str(c.metadata.name) for c in core.list_namespaced_config_map(namespace).items} - {"kube-root-ca.crt"}

    try:
        fleet = FleetRepo(tmp_path, namespace)
        fleet.commit("x", template=config_maps(range(400)))
        # the same replica identity restarts, as a Pod restarted in place would; it renews its own Lease
        args = [
            sys.executable,
            "-m",
            "razee",
            "agent",
            "--spoke",
            fleet.spoke,
            "--repo",
            fleet.url,
            "--kubeconfig",
            kubeconfig,
            "--state-dir",
            str(tmp_path / "state"),
            "--no-infra",
            "--interval",
            "2s",
            "--poll",
            "1s",
            "--identity",
            "replica-0",
            "--listen",
            "127.0.0.1:0",
        ]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(live()) < 60:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # mid-apply: no cleanup, no lease release
        proc.wait()
        created = live()
        assert 60 <= len(created) < 400, len(created)

        # cm-0..49 leave the repo; the killed pass created them (objects apply in render order), so only a
        # write-ahead inventory lets the restarted agent prune them
        assert {f"cm-{i}" for i in range(50)} <= created
        fleet.commit("x", template=config_maps(range(50, 400)))
        restarted = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while live() != {f"cm-{i}" for i in range(50, 400)}:
                assert time.monotonic() < deadline, len(live())
                time.sleep(0.2)
        finally:
            restarted.terminate()
            restarted.wait(timeout=60)
    finally:
        core.delete_namespace(namespace)


def test_a_watched_local_folder_triggers_a_pass(
    tmp_path: Path, namespace: str, kubeconfig: str, api_client: client.ApiClient
) -> None:
    fleet = FleetRepo(tmp_path, namespace)
    fleet.commit("w1")
    agent = Agent(
        AgentSettings(
            spoke=fleet.spoke,
            repo=str(fleet.path),
            kubeconfig=kubeconfig,
            state_dir=tmp_path / "watch",
            interval=3600,
            poll=0.1,
            pass_options=PassOptions(infra=False),
        )
    )
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 120  # generous: CI runs on a busy 2-core machine
        while live_value(api_client, namespace) != "w1":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        fleet.commit("w2")  # the interval is an hour: only the watch can bring this in
        deadline = time.monotonic() + 120
        while live_value(api_client, namespace) != "w2":
            assert time.monotonic() < deadline, "the edit did not trigger a pass"
            time.sleep(0.1)
    finally:
        agent.stop.set()
        runner.join(timeout=30)


def test_the_agent_applies_only_signed_commits(
    fleet: FleetRepo, tmp_path: Path, kubeconfig: str, api_client: client.ApiClient
) -> None:
    key = tmp_path / "ops"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"ops {key.with_suffix('.pub').read_text()}")
    fleet.commit("unsigned")
    agent = fleet.agent(tmp_path, kubeconfig, trusted_keys=(allowed,))
    refused = agent.run_pass(leader=True)
    assert refused.result == "rejected" and "it is not signed" in refused.findings[0]
    assert live_value(api_client, fleet.namespace) is None
    subprocess.run(
        [
            "git",
            "-c",
            "gpg.format=ssh",
            "-c",
            f"user.signingkey={key}",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-S",
            "-m",
            "signed",
        ],
        cwd=fleet.path,
        check=True,
    )
    signed = agent.run_pass(leader=True)
    assert signed.result == "applied", signed.findings
    assert live_value(api_client, fleet.namespace) == "unsigned"  # the content, now vouched for by a signature


def test_reports_name_what_is_not_healthy(fleet: FleetRepo, tmp_path: Path, kubeconfig: str) -> None:
    deploy = (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: stuck, namespace: {fleet.namespace}}}\n"
        "spec:\n  replicas: 1\n  selector: {matchLabels: {app: s}}\n  template:\n"
        "    metadata: {labels: {app: s}}\n    spec:\n      containers:\n"
        "      - {name: s, image: icr.io/fail/stuck:1, resources: {requests: {cpu: 1m, memory: 1Mi}, "
        "limits: {cpu: 1m, memory: 1Mi}}}\n"
    )
    fleet.commit("x", template=deploy)
    out = fleet.agent(tmp_path, kubeconfig).run_pass(leader=True)
    assert out.result == "applied"
    report = out.to_report()
    assert [u["object"] for u in report["unhealthy"]] == [f"Deployment.apps {fleet.namespace}/stuck"]
    assert report["unhealthy"][0]["status"] in ("progressing", "degraded")


def test_follows_a_repo_over_ssh(
    fleet: FleetRepo, tmp_path: Path, kubeconfig: str, api_client: client.ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.commit("over-ssh")
    server = SshServer(tmp_path / "sshd")
    try:
        monkeypatch.setenv("GIT_SSH_COMMAND", server.git_ssh_command())
        agent = Agent(
            AgentSettings(
                spoke=fleet.spoke,
                repo=server.url(fleet.path),
                kubeconfig=kubeconfig,
                state_dir=tmp_path / "ssh-agent",
                pass_options=PassOptions(infra=False),
            )
        )
        out = agent.run_pass(leader=True)
        assert out.result == "applied", out.error
        assert out.source["repo"].startswith("ssh://")
        assert live_value(api_client, fleet.namespace) == "over-ssh"
    finally:
        server.close()
