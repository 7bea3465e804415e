"""`razee init` and `razee bootstrap` through real parts: a fleet repo of one's own served by a real git HTTP server
(with a token), a real `razee hub serve` process, and a real kube-apiserver for the spoke.

After bootstrap, the agent started from what bootstrap wrote (the token from the Secret, the objects it applied)
reconciles the spoke and reports to the hub: the agent manages itself from there.
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import git
import httpx
import pytest
from kubernetes import client, config

from tests.conftest import run_razee
from tests.gitserver import GitHttpServer

SECRET = "razee-agent-credentials"
NS = "razee-system"


class HubProcess:
    def __init__(self, db: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url, self.db = f"http://127.0.0.1:{port}", db
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "razee", "hub", "serve", "--db", db, "--listen", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, f"the hub exited: {self.proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "the hub did not answer /healthz within 120 s"
            time.sleep(0.2)

    def admin_token(self) -> str:
        r = run_razee("hub", "token", "create", "--db", self.db, "--role", "admin")
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def whoami(self, token: str) -> httpx.Response:
        return httpx.get(self.url + "/api/v1/tokens/self", headers={"Authorization": f"Bearer {token}"}, timeout=15)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    h = HubProcess(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    yield h
    h.close()


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[tuple[GitHttpServer, Path, str]]:
    root, token = tmp_path / "git", secrets.token_urlsafe(16)
    root.mkdir()
    server = GitHttpServer(root, token)
    yield server, root, token
    server.close()


class Spoke:
    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)

    def secret(self) -> dict[str, str]:
        s = self.core.read_namespaced_secret(SECRET, NS)
        return {k: base64.b64decode(v).decode() for k, v in (s.data or {}).items()}

    def secret_version(self) -> str:
        return str(self.core.read_namespaced_secret(SECRET, NS).metadata.resource_version)

    def agent(self) -> Any:
        return self.apps.read_namespaced_stateful_set("razee-agent", NS)

    def has_namespace(self) -> bool:
        return any(n.metadata.name == NS for n in self.core.list_namespace().items)


def bootstrap(
    spoke: str,
    hub: HubProcess,
    repo: str,
    admin_file: Path,
    kubeconfig: str,
    *extra: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return run_razee(
        "bootstrap",
        "--spoke",
        spoke,
        "--hub",
        hub.url,
        "--repo",
        repo,
        "--admin-token-file",
        str(admin_file),
        "--kubeconfig",
        kubeconfig,
        *extra,
        env=env,
    )


def test_init_bootstrap_then_the_agent_reports_and_rotation(
    tmp_path: Path, hub: HubProcess, git_server: tuple[GitHttpServer, Path, str], cluster_factory: Callable[[str], str]
) -> None:
    server, git_root, git_token = git_server
    spoke = f"bs-{secrets.token_hex(3)}"
    spoke_cluster = Spoke(cluster_factory("bootstrap"))
    url = server.url("fleet.git")

    # A fleet repo of one's own, pushed to the git server the agent will follow.
    work = tmp_path / "fleet"
    made = run_razee(
        "init",
        str(work),
        "--spoke",
        spoke,
        "--hub",
        hub.url,
        "--fleet-repo",
        url,
        "--image",
        "registry.example.com/razee/razee:0.1.0",
    )
    assert made.returncode == 0, made.stderr
    checked = run_razee("validate", "--repo", str(work))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    git.Repo.init(git_root / "fleet.git", bare=True, initial_branch="main")
    repo = git.Repo.init(work, initial_branch="main")
    repo.git.add(A=True)
    repo.index.commit("a fleet of one's own", author=git.Actor("t", "t@example.com"))
    repo.git.push(str(git_root / "fleet.git"), "main")  # the server serves it; http-backend takes no pushes
    revision = repo.head.commit.hexsha

    admin_file, git_file = tmp_path / "admin-token", tmp_path / "git-token"
    admin_file.write_text(hub.admin_token() + "\n")
    git_file.write_text(git_token + "\n")
    os.chmod(admin_file, 0o600)

    # Bad input changes nothing: a token that is not an admin's, and a spoke the repo does not have.
    bad_admin = tmp_path / "not-admin"
    bad_admin.write_text(run_razee("hub", "token", "create", "--db", hub.db, "--role", "reader").stdout)
    refused = bootstrap(spoke, hub, url, bad_admin, spoke_cluster.kubeconfig, "--git-token-file", str(git_file))
    assert refused.returncode == 2 and "admin token" in refused.stderr, refused.stderr
    unknown = bootstrap(
        "no-such-spoke", hub, url, admin_file, spoke_cluster.kubeconfig, "--git-token-file", str(git_file)
    )
    assert unknown.returncode == 2 and "no-such-spoke" in unknown.stderr, unknown.stderr
    no_git = bootstrap(spoke, hub, url, admin_file, spoke_cluster.kubeconfig)  # the git server wants its token
    assert no_git.returncode == 4, no_git.stderr
    assert git_token not in no_git.stderr
    assert not spoke_cluster.has_namespace()

    # The first run: objects applied, token created and written with the git token.
    first = bootstrap(spoke, hub, url, admin_file, spoke_cluster.kubeconfig, "--git-token-file", str(git_file))
    assert first.returncode == 0, first.stderr
    assert ": created" in first.stderr
    for value in (git_token, admin_file.read_text().strip()):
        assert value not in first.stderr + first.stdout
    creds = spoke_cluster.secret()
    assert creds["git-token"] == git_token
    assert hub.whoami(creds["hub-token"]).json() == {"id": creds["hub-token-id"], "role": "agent", "spoke": spoke}
    assert creds["hub-token"] not in first.stderr + first.stdout
    sts = spoke_cluster.agent()
    assert sts.spec.template.metadata.annotations["razee.io/hub-token-id"] == creds["hub-token-id"]
    args = sts.spec.template.spec.containers[0].args
    assert args[args.index("--hub") + 1] == hub.url and args[args.index("--repo") + 1] == url
    assert sts.spec.volume_claim_templates[0].metadata.name == "state"
    inventory = spoke_cluster.core.read_namespaced_config_map(f"razee-inventory-{spoke}", NS)
    assert "StatefulSet" in str(inventory.data)

    # Idempotent: the second run reuses the token and writes nothing.
    version, generation = spoke_cluster.secret_version(), sts.metadata.generation
    again = bootstrap(spoke, hub, url, admin_file, spoke_cluster.kubeconfig, env={"RAZEE_GIT_TOKEN": git_token})
    assert again.returncode == 0, again.stderr
    assert ": reused" in again.stderr and "Secret: unchanged" in again.stderr and "unchanged" in again.stderr
    assert spoke_cluster.secret_version() == version
    assert spoke_cluster.agent().metadata.generation == generation
    assert spoke_cluster.secret()["git-token"] == git_token

    # The agent, run from what bootstrap wrote, reconciles the spoke and reports to the hub.
    token_file = tmp_path / "agent-token"
    token_file.write_text(creds["hub-token"])
    ran = run_razee(
        "agent",
        "--spoke",
        spoke,
        "--repo",
        url,
        "--hub",
        hub.url,
        "--hub-token-file",
        str(token_file),
        "--once",
        "--no-infra",
        "--kubeconfig",
        spoke_cluster.kubeconfig,
        "--state-dir",
        str(tmp_path / "state"),
        env={"RAZEE_GIT_TOKEN": git_token},
        timeout=600,
    )
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-3000:]
    admin = admin_file.read_text().strip()
    spokes = httpx.get(hub.url + "/api/v1/spokes", headers={"Authorization": f"Bearer {admin}"}, timeout=15).json()
    [mine] = [s for s in spokes["items"] if s["spoke"] == spoke]
    assert mine["revision"] == revision
    diff = run_razee(
        "diff", "--spoke", spoke, "--repo", str(work), "--no-infra", "--kubeconfig", spoke_cluster.kubeconfig
    )
    assert diff.returncode == 0, diff.stdout[-2000:] + diff.stderr

    # The first commit of one's own: pushed, picked up by the agent, applied and reported.
    (work / "templates" / "spoke" / "hello.yaml.j2").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hello, namespace: razee-system}\n"
        "data: {spoke: {{ spoke.name | tojson }}}\n"
    )
    repo.git.add(A=True)
    repo.index.commit("first commit of our own", author=git.Actor("t", "t@example.com"))
    repo.git.push(str(git_root / "fleet.git"), "main")
    ran = run_razee(
        "agent",
        "--spoke",
        spoke,
        "--repo",
        url,
        "--hub",
        hub.url,
        "--hub-token-file",
        str(token_file),
        "--once",
        "--no-infra",
        "--kubeconfig",
        spoke_cluster.kubeconfig,
        "--state-dir",
        str(tmp_path / "state"),
        env={"RAZEE_GIT_TOKEN": git_token},
        timeout=600,
    )
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-3000:]
    assert spoke_cluster.core.read_namespaced_config_map("hello", NS).data == {"spoke": spoke}
    spokes = httpx.get(hub.url + "/api/v1/spokes", headers={"Authorization": f"Bearer {admin}"}, timeout=15).json()
    [mine] = [s for s in spokes["items"] if s["spoke"] == spoke]
    assert mine["revision"] == repo.head.commit.hexsha

    # Rotation: a new token in the Secret, the pods rolled by the new id, the old token revoked at the hub.
    # (from a local checkout of the repo, with no git token given: the one in the Secret stays)
    rotated = bootstrap(spoke, hub, str(work), admin_file, spoke_cluster.kubeconfig, "--rotate-token")
    assert rotated.returncode == 0, rotated.stderr
    assert f"the agent will follow {url}" in rotated.stderr
    new = spoke_cluster.secret()
    assert new["hub-token-id"] != creds["hub-token-id"] and f"revoked {creds['hub-token-id']}" in rotated.stderr
    assert hub.whoami(new["hub-token"]).status_code == 200
    assert hub.whoami(creds["hub-token"]).status_code == 401
    rolled = spoke_cluster.agent()
    assert rolled.spec.template.metadata.annotations["razee.io/hub-token-id"] == new["hub-token-id"]
    assert rolled.metadata.generation == generation + 1
    assert new["git-token"] == git_token
    # the agent's own apply leaves bootstrap's stamp alone: its diff of the spoke is still clean
    diff = run_razee(
        "diff", "--spoke", spoke, "--repo", str(work), "--no-infra", "--kubeconfig", spoke_cluster.kubeconfig
    )
    assert diff.returncode == 0, diff.stdout[-2000:] + diff.stderr


def test_init_refuses_a_non_empty_folder_and_bad_names_writing_nothing(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    r = run_razee("init", str(taken))
    assert r.returncode == 2 and "not an empty folder" in r.stderr
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    r = run_razee("init", str(tmp_path / "new"), "--spoke", "Not_A_Name")
    assert r.returncode == 2 and "spokes[0].name" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
