"""The spoke agent converging its infrastructure through the aws provider and reporting it to the hub: the agent
(`razee agent --once`) and the hub (`razee hub serve`) as real processes, a real kube-apiserver, real git, and
moto's EC2 server on loopback."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import httpx
import pytest

from tests.awsemu import CREDENTIALS, MotoServer, Proxy, ec2, live_instances, worker_counts
from tests.fleetrepo import write_repo
from tests.helpers.aws import Emulator, fleet_doc, region_doc, want
from tests.helpers.hub import HubProcess

ACTOR = git.Actor("t", "t@example.com")
CANARY = "razeeCANARYagent" + "z" * 24


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[Emulator]:
    server = MotoServer(tmp_path / "moto.log")
    proxy = Proxy(server.url)
    url = proxy.start()
    yield Emulator(server, proxy, url)
    proxy.close()
    server.close()


class Spoke:
    """One spoke's fleet repo (real git, followed over file://) and its agent, run as `razee agent --once`."""

    def __init__(self, tmp: Path, aws: Emulator, namespace: str, kubeconfig: str, hub: HubProcess) -> None:
        self.tmp, self.aws, self.namespace, self.kubeconfig, self.hub = tmp, aws, namespace, kubeconfig, hub
        self.name = f"aws-{secrets.token_hex(3)}"
        self.origin = tmp / "origin"
        self.repo = git.Repo.init(self.origin, initial_branch="main")
        self.token_file = tmp / "hub-token"
        self.token_file.write_text(hub.token("agent", self.name))

    def commit(self, size: int, message: str) -> str:
        region = region_doc(clusters=2, size=size)
        region["spokes"] = [{"name": self.name, "wave": "main", "capacity": 10}]
        app = (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app, namespace: {self.namespace}}}\n"
            'data: {workers: "{{ clusters | length }}"}\n'
        )
        write_repo(self.origin, fleet=fleet_doc(self.aws), regions=[region], templates={"spoke/app.yaml.j2": app})
        self.repo.git.add(A=True)
        self.repo.index.commit(message, author=ACTOR, committer=ACTOR)
        return self.repo.head.commit.hexsha

    def agent(self, *extra: str) -> dict[str, Any]:
        env = {**os.environ, **CREDENTIALS, "AWS_SECRET_ACCESS_KEY": CANARY}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "razee",
                "-v",
                "agent",
                "--once",
                "--spoke",
                self.name,
                "--repo",
                f"file://{self.origin}",
                "--kubeconfig",
                self.kubeconfig,
                "--state-dir",
                str(self.tmp / "state"),
                "--hub",
                self.hub.url,
                "--hub-token-file",
                str(self.token_file),
                "--identity",
                "agent-0",
                *extra,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert CANARY not in proc.stdout + proc.stderr
        assert proc.returncode in (0, 1), proc.stderr
        report: dict[str, Any] = json.loads(proc.stdout)
        return report


def owned(aws: Emulator, spoke: str) -> list[dict[str, Any]]:
    return [i for i in live_instances(aws.client) if {"Key": "razee:spoke", "Value": spoke} in i.get("Tags", [])]


def test_the_agent_converges_aws_infrastructure_and_reports_it_to_the_hub(
    aws: Emulator, tmp_path: Path, namespace: str, kubeconfig: str
) -> None:
    hub = HubProcess(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    try:
        spoke = Spoke(tmp_path, aws, namespace, kubeconfig, hub)
        first_rev = spoke.commit(size=1, message="two clusters, one worker per zone")
        first = spoke.agent()
        assert first["result"] == "applied", first
        assert first["infrastructure"]["provider"] == "aws"
        assert first["infrastructure"]["done"] == 2 + 6 and first["infrastructure"]["failed"] == []
        assert worker_counts(aws.client) == want(2, 1)
        assert len(owned(aws, spoke.name)) == 6  # tagged with the agent's spoke

        spoke.commit(size=2, message="scale up")
        second = spoke.agent()
        assert second["result"] == "applied" and second["infrastructure"]["done"] == 6, second
        assert worker_counts(aws.client) == want(2, 2)

        # a worker terminated by hand is drift: reported, and replaced only with --self-heal
        victim = owned(aws, spoke.name)[0]["InstanceId"]
        ec2(aws.moto.url).terminate_instances(InstanceIds=[victim])
        drifted = spoke.agent()
        assert drifted["result"] == "drifted" and drifted["infrastructure"]["planned"] == 1, drifted
        assert sum(worker_counts(aws.client).values()) == 11
        healed = spoke.agent("--self-heal")
        assert healed["result"] == "healed" and healed["infrastructure"]["done"] == 1, healed
        assert worker_counts(aws.client) == want(2, 2)
        in_sync = spoke.agent()
        assert in_sync["result"] == "in-sync", in_sync

        reader = hub.token("reader")
        history = httpx.get(
            f"{hub.url}/api/v1/spokes/{spoke.name}/history", headers={"Authorization": f"Bearer {reader}"}, timeout=30
        ).json()["items"]
        assert [h["result"] for h in history] == ["in-sync", "healed", "drifted", "applied", "applied"]
        assert history[-1]["revision"] == first_rev
        with sqlite3.connect(tmp_path / "hub.sqlite") as db:
            bodies = [json.loads(b) for (b,) in db.execute("SELECT body FROM reports ORDER BY received")]
        assert [b["infrastructure"].get("done") for b in bodies] == [8, 6, None, 1, None]
        assert all(b["infrastructure"]["provider"] == "aws" for b in bodies[:4])  # in-sync plans nothing
    finally:
        hub.close()
    for path in tmp_path.rglob("*"):  # hub database, agent state and outbox: no credentials anywhere
        if path.is_file() and ".git" not in path.parts:
            assert CANARY.encode() not in path.read_bytes(), path
