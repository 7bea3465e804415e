"""Fixtures shared by every test tier.

Integration tests run against real kube-apiservers started by `scripts/testenv` (etcd + kube-apiserver +
kube-controller-manager on loopback). When the test environment cannot start, those tests fail; they never skip.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTENV = REPO / "scripts" / "testenv"


@pytest.fixture(autouse=True)
def guard_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point HOME at an empty folder and fail the test if anything lands in it (kubeconfig, caches, ...)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("RAZEE_LOG_DIR", str(tmp_path_factory.mktemp("logs")))
    monkeypatch.setenv("RAZEE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield home
    touched = sorted(p.relative_to(home).as_posix() for p in home.rglob("*"))
    assert not touched, f"test touched the home directory: {touched}"


def pytest_configure(config: pytest.Config) -> None:
    """kubectl of the test server's version, helm and kustomize come first on PATH (built once by build-tools)."""
    proc = subprocess.run([sys.executable, str(TESTENV), "path"], capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise pytest.UsageError(f"scripts/testenv path failed:\n{proc.stderr[-4000:]}")
    os.environ["PATH"] = f"{proc.stdout.strip()}:{os.environ.get('PATH', '')}"


def _testenv(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, str(TESTENV), *args], capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        pytest.fail(f"scripts/testenv {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return proc.stdout.split()


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    """The session-wide real cluster's kubeconfig (started once; reused if it already runs)."""
    return _testenv("start", "default")[-1]


@pytest.fixture(scope="session")
def cluster_factory() -> Iterator[Callable[[str], str]]:
    """Start extra isolated clusters on the shared etcd by name, empty at their first use in the session; they are
    stopped at the end of the session."""
    started: list[str] = []

    def start(name: str) -> str:
        if name not in started:  # its first use this session: one left running by an earlier session starts empty
            started.append(name)
            _testenv("stop", name)
        return _testenv("start", name)[-1]

    yield start
    if started:
        _testenv("stop", *started)


@pytest.fixture
def api_client(kubeconfig: str) -> Iterator[object]:
    from kubernetes import config

    client = config.new_client_from_config(config_file=kubeconfig)
    yield client
    client.close()


@pytest.fixture
def namespace(api_client: object) -> Iterator[str]:
    """A fresh, uniquely named namespace labelled created-by: razee-tests, deleted afterwards."""
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    name = f"rt-{secrets.token_hex(4)}"
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"created-by": "razee-tests"}))
    )
    yield name
    core.delete_namespace(name)


def run_razee(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "razee", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    """One real PostgreSQL server for the session; each test gets its own database."""
    from tests.pgserver import PostgresServer

    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgres"])
def hub_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh hub database URL: every hub test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite'}"
    server = request.getfixturevalue("postgres")
    return server.create_database(f"t{secrets.token_hex(6)}")  # type: ignore[no-any-return]
