"""Helpers for the Kustomization and RemoteManifests tests: a declaration as a template would render it, the
`kustomize build` CLI as the reference, and a file server on loopback that can be stopped (a server that is down)."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from razee.objects import Manifest, Provenance
from tests.conftest import REPO
from tests.helpers.charts import free_port

KUSTOMIZE_FLEET = REPO / "tests" / "data" / "kustomize"
DECL_TEMPLATE = "templates/spoke/sources.yaml"
DECL_LINE = 12
USER, PASSWORD = "fleet", "pa55-not-in-logs"


def declaration(kind: str, spec: Any, name: str = "platform") -> Manifest:
    obj = {"apiVersion": "razee.io/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}
    return Manifest(obj, Provenance(DECL_TEMPLATE, 1, DECL_LINE, cluster=None))


def kustomize_cli(folder: Path) -> list[dict[str, Any]]:
    """What the official `kustomize build FOLDER` prints, as objects: the reference razee's build must equal."""
    found = shutil.which("kustomize")
    assert found, "kustomize is not on PATH (tests/conftest.py puts scripts/testenv path first)"
    proc = subprocess.run([found, "build", str(folder)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d is not None]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; /private/ needs basic auth, /fail/ answers 500, and every request is counted."""

    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path.startswith("/fail/"):
            self.send_error(500)
            return
        if self.path.startswith("/private/"):
            want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") != want:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="manifests"')
                self.end_headers()
                return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class FileServer:
    url: str  # http://127.0.0.1:PORT
    root: Path
    hits: list[str]

    def put(self, rel: str, data: bytes) -> str:
        """Serve `data` at `rel`; returns its URL."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return f"{self.url}/{rel}"


@contextmanager
def file_server(root: Path) -> Iterator[FileServer]:
    """http.server on a loopback port in a thread, serving `root` until the block ends (then the port is closed:
    a server that is down)."""
    port = free_port()
    hits: list[str] = []
    handler = type("Handler", (_Handler,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield FileServer(f"http://127.0.0.1:{port}", root, hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)
