"""The soak's processes: one kube-apiserver per spoke (scripts/testenv, on one etcd, each with kwok), PostgreSQL,
a `razee hub serve` following the fleet repo, one `razee agent` process per spoke, and Prometheus scraping an
exporter the soak sets. Each can be stopped and started again mid-rollout, which is what the restart step does.

Tokens never reach a command line or a log: agents read theirs from a 0600 file, the soak keeps the others in
memory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers.soak_fleet import REPO

TESTENV = REPO / "scripts" / "testenv"
STOP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cluster_name(spoke: str) -> str:
    return f"soak-{spoke}"


class Clusters:
    """The spokes' clusters, in a testenv state folder of their own (stopping it ends their etcd too)."""

    def __init__(self, state_dir: Path) -> None:
        self.env = {**os.environ, "RAZEE_TESTENV_DIR": str(state_dir)}

    def _testenv(self, *args: str) -> list[str]:
        proc = subprocess.run(
            [sys.executable, str(TESTENV), *args], capture_output=True, text=True, env=self.env, timeout=3600
        )
        if proc.returncode != 0:
            raise RuntimeError(f"scripts/testenv {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        return proc.stdout.split()

    def start(self, spokes: list[str]) -> dict[str, str]:
        """Spoke -> kubeconfig; starts what does not run (and resumes a paused cluster)."""
        out = self._testenv("start", *(cluster_name(s) for s in spokes))
        return dict(zip(spokes, out[-len(spokes) :], strict=True))

    def crash(self, spoke: str) -> None:
        """Stop the cluster's processes, keeping its data, as a crashed apiserver would."""
        self._testenv("pause", cluster_name(spoke))

    def stop_all(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._testenv("stop")

    def tool_path(self) -> str:
        return ":".join(self._testenv("path"))


class Proc:
    """A child process in its own session (so stopping it ends its children), its output in a log file."""

    def __init__(self, name: str, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.args, self.log, self.env = name, args, log, env
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                self.args,
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **(self.env or {})},
            )

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None and self.popen.poll() is None else None

    def send(self, sig: int = signal.SIGTERM) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.popen.pid, sig)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the process group and wait; a process that outlives STOP_TIMEOUT is killed."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.send(sig)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=STOP_TIMEOUT)


def razee_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "razee", *args]


class Hub(Proc):
    """`razee hub serve` on PostgreSQL, following the fleet repo, keeping every report (the soak counts them)."""

    def __init__(self, db: str, repo: Path, home: Path, poll: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = db
        super().__init__(
            "hub",
            razee_cmd(
                "-v",
                "hub",
                "serve",
                "--db",
                db,
                "--listen",
                f"127.0.0.1:{self.port}",
                "--repo",
                repo.as_uri(),
                "--poll",
                poll,
                "--state-dir",
                str(home / "hub"),
                "--keep-reports",
                "1000000",
                "--keep-mib",
                "100000",
            ),
            home / "hub.log",
        )

    def start(self, timeout: float = 180.0) -> None:
        super().start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.pid is None or time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start; see {self.log}")
            time.sleep(0.3)

    def admin_token(self) -> str:
        proc = subprocess.run(
            razee_cmd("hub", "token", "create", "--db", self.db, "--role", "admin"), capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"razee hub token create failed: {proc.stderr[-2000:]}")
        return proc.stdout.strip()

    def token(self, admin: str, role: str, spoke: str | None = None) -> str:
        r = httpx.post(
            self.url + "/api/v1/tokens",
            json={"role": role, "spoke": spoke},
            timeout=60,
            headers={"Authorization": f"Bearer {admin}"},
        )
        r.raise_for_status()
        return str(r.json()["token"])


class Agent(Proc):
    """`razee agent` for one spoke: self-healing, its state (git cache, outbox) in its own folder."""

    def __init__(
        self,
        spoke: str,
        kubeconfig: str,
        repo: Path,
        hub: str,
        token: str,
        home: Path,
        prometheus: str,
        interval: str,
        poll: str,
    ) -> None:
        self.spoke = spoke
        self.state_dir = home / "agents" / spoke
        self.state_dir.mkdir(parents=True, exist_ok=True)
        token_file = self.state_dir.parent / f"{spoke}.token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        super().__init__(
            f"agent {spoke}",
            razee_cmd(
                "-v",
                "agent",
                "--spoke",
                spoke,
                "--repo",
                repo.as_uri(),
                "--kubeconfig",
                kubeconfig,
                "--hub",
                hub,
                "--hub-token-file",
                str(token_file),
                "--state-dir",
                str(self.state_dir),
                "--interval",
                interval,
                "--poll",
                poll,
                "--self-heal",
                "--listen",
                f"127.0.0.1:{free_port()}",
                "--prometheus",
                prometheus,
                "--identity",
                f"soak-{spoke}",
            ),
            home / "agents" / f"{spoke}.log",
        )

    @property
    def outbox(self) -> Path:
        return self.state_dir / "outbox.sqlite"
