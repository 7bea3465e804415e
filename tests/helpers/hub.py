"""A real `razee hub serve` process on a free port, and signing in to its dashboard (hub, rollout, end-to-end
tiers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import REPO, run_razee

ARTIFACTS = REPO / "test-artifacts"
"""Where browser tests leave screenshots and traces."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class HubProcess:
    """`razee hub serve` on `db`, started and waited for (healthz) in the constructor."""

    def __init__(self, db: str, *args: str, log: Path | None = None, timeout: float = 120.0) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = db
        self.log = log
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "razee", "hub", "serve", "--db", db, "--listen", f"127.0.0.1:{self.port}", *args],
            stdout=out,
            stderr=out,
        )
        deadline = time.monotonic() + timeout  # generous: a shared 2-core machine may start several at once
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, "the hub did not start"
            time.sleep(0.1)

    def token(self, role: str, spoke: str | None = None) -> str:
        args = ["hub", "token", "create", "--db", self.db, "--role", role] + (["--spoke", spoke] if spoke else [])
        r = run_razee(*args)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def login(page: Any, url: str, token: str) -> None:
    """Sign in through the login form: the token is typed once and POSTed, never put in a URL."""
    page.goto(f"{url}/login")
    page.fill("#token", token)
    page.click("#signin")
    page.wait_for_load_state()


def launch_chromium(playwright: Any, profile: Path) -> Any:
    """The machine's headless Chromium, with its home and caches in `profile` (a test's own folder)."""
    return playwright.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=CHROMIUM_ARGS,
        env={
            **os.environ,
            "HOME": str(profile),
            "XDG_CONFIG_HOME": str(profile / "c"),
            "XDG_CACHE_HOME": str(profile / "k"),
        },
    )
