"""A fleet in a real git repo that an agent under test follows (agent, hub and end-to-end tiers)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import git

from razee.agent.core import Agent, AgentSettings
from razee.reconcile import PassOptions
from tests.fleetrepo import region_copy, write_repo

ACTOR = git.Actor("t", "t@example.com")
"""Author and committer of the test commits."""


class FleetRepo:
    """A one-spoke fleet in a real git repo, followed over file://, with a ConfigMap the test controls."""

    def __init__(self, tmp: Path, namespace: str) -> None:
        self.path = tmp / "origin"
        self.spoke = f"a-{secrets.token_hex(4)}"
        self.namespace = namespace
        self.repo = git.Repo.init(self.path, initial_branch="main")
        self.url = f"file://{self.path}"

    def commit(self, value: str, template: str | None = None, message: str = "change") -> str:
        region = region_copy()
        region["spokes"] = [{"name": self.spoke, "wave": "main"}]
        region["clusters"] = []
        text = template or (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app, namespace: {self.namespace}}}\n"
            f"data: {{value: {json.dumps(value)}}}\n"
        )
        if self.path.exists():
            for f in (self.path / "templates").rglob("*.j2") if (self.path / "templates").exists() else []:
                f.unlink()
        write_repo(self.path, regions=[region], templates={"spoke/app.yaml.j2": text})
        self.repo.git.add(A=True)
        self.repo.index.commit(message, author=ACTOR, committer=ACTOR)
        return self.repo.head.commit.hexsha

    def agent(self, tmp: Path, kubeconfig: str, name: str = "agent", **kw: Any) -> Agent:
        return Agent(
            AgentSettings(
                spoke=self.spoke,
                repo=self.url,
                kubeconfig=kubeconfig,
                state_dir=tmp / name,
                identity=name,
                interval=1,
                poll=0.2,
                pass_options=PassOptions(infra=False),
                **kw,
            )
        )
