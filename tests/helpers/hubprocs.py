"""Helpers for tests of a real `razee hub serve` process: a followed fleet repo, report posting, a webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import git
import httpx

from tests.fleetrepo import commit
from tests.helpers.hub import HubProcess

__all__ = ["HubProcess", "Receiver", "commit", "post", "wait_for"]


def wait_for(what: str, check: Callable[[], Any], timeout: float = 120.0) -> Any:
    """Poll until `check` returns something truthy (a busy 2-core machine gets a generous deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def post(hub: HubProcess, token: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(hub.url + "/api/v1/reports", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)


class Receiver:
    """A webhook receiver on loopback. Paths: /ok answers 200; /flaky answers 503 to its first two requests;
    /hang holds every request until `release` is set; anything else 200. Accepted payloads are kept per path."""

    def __init__(self) -> None:
        self.got: dict[str, list[dict[str, Any]]] = {}
        self.hits: dict[str, int] = {}
        self.release = threading.Event()
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with outer.lock:
                    n = outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                if self.path == "/hang":
                    outer.release.wait(300)
                if self.path == "/flaky" and n <= 2:
                    self.send_response(503)
                    self.end_headers()
                    return
                with outer.lock:
                    outer.got.setdefault(self.path, []).append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.got.get(path, []))

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def fleet_repo(root: Path, spokes: list[tuple[str, str]]) -> tuple[git.Repo, str]:
    """A fleet repo of `spokes` in two waves, canary (no failure allowed, no bake) and main."""
    repo = git.Repo.init(root, initial_branch="main")
    rev = commit(
        root, repo, spokes, "first", waves=[{"name": "canary", "bakeTime": "0s", "maxFailures": 0}, {"name": "main"}]
    )
    return repo, rev
