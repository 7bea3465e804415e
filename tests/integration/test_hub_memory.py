"""The hub's memory stays bounded with the largest reports it accepts: a real `razee hub serve` process takes
rounds of four concurrent 4 MB reports, then serves a spoke's whole history; its peak RSS (VmHWM) stays inside the
memory limit of deploy/hub.yaml, and retention keeps the stored bytes per spoke bounded."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from razee.hub.api import MAX_REPORT_BYTES
from tests.conftest import REPO, run_razee

ROUNDS = 3
CONCURRENT = 4


def manifest_limit() -> int:
    """The hub container's memory limit in bytes, as deploy/hub.yaml declares it."""
    m = re.search(r"limits:.*memory: (\d+)Mi", (REPO / "deploy" / "hub.yaml").read_text())
    assert m, "deploy/hub.yaml declares no memory limit"
    return int(m.group(1)) << 20


def large_report(spoke: str, target: int) -> bytes:
    objects: list[dict[str, Any]] = []
    body: dict[str, Any] = {
        "schema": 1,
        "id": str(uuid.uuid4()),
        "time": time.time(),
        "spoke": spoke,
        "region": "us-south",
        "agent": f"{spoke}-0",
        "result": "drifted",
        "source": {"revision": "r1"},
        "objects": objects,
    }
    per = (
        len(
            json.dumps(
                {
                    "group": "apps",
                    "kind": "Deployment",
                    "namespace": "master-c00000",
                    "name": "kube-apiserver-00000",
                    "status": "drifted",
                    "paths": ["/spec/replicas", "/spec/template/spec/containers/0/image"],
                }
            )
        )
        + 2
    )
    for i in range(min(target // per, 50_000)):
        objects.append(
            {
                "group": "apps",
                "kind": "Deployment",
                "namespace": f"master-c{i % 99999:05d}",
                "name": f"kube-apiserver-{i:05d}",
                "status": "drifted",
                "paths": ["/spec/replicas", "/spec/template/spec/containers/0/image"],
            }
        )
    raw = json.dumps(body).encode()
    assert len(raw) <= MAX_REPORT_BYTES
    return raw


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert m
    return int(m.group(1)) << 10


def test_four_concurrent_4mb_reports_and_history_stay_within_the_manifest_limit(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    spokes = [f"big-{i}" for i in range(CONCURRENT)]
    tokens = {}
    for spoke in spokes:
        r = run_razee("hub", "token", "create", "--db", db, "--role", "agent", "--spoke", spoke)
        assert r.returncode == 0, r.stderr
        tokens[spoke] = r.stdout.strip()
    reader = run_razee("hub", "token", "create", "--db", db, "--role", "reader").stdout.strip()
    hub = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "razee",
            "hub",
            "serve",
            "--db",
            db,
            "--listen",
            f"127.0.0.1:{port}",
            "--keep-mib",
            "16",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.1)
        idle = peak_rss(hub.pid)
        statuses: list[int] = []

        def post(spoke: str) -> None:
            raw = large_report(spoke, MAX_REPORT_BYTES - 4096)
            r = httpx.post(
                url + "/api/v1/reports",
                content=raw,
                timeout=300,
                headers={"Authorization": f"Bearer {tokens[spoke]}", "Content-Type": "application/json"},
            )
            statuses.append(r.status_code)

        for _ in range(ROUNDS):
            threads = [threading.Thread(target=post, args=(s,)) for s in spokes]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert statuses == [201] * (ROUNDS * CONCURRENT)
        history = httpx.get(
            url + f"/api/v1/spokes/{spokes[0]}/history",
            params={"limit": 200},
            headers={"Authorization": f"Bearer {reader}"},
            timeout=60,
        ).json()["items"]
        assert 1 <= len(history) <= ROUNDS and all(h["bytes"] > 3 << 20 for h in history)
        peak = peak_rss(hub.pid)
        print(
            f"hub peak RSS {peak >> 20} MiB (idle {idle >> 20} MiB) after {ROUNDS} rounds of {CONCURRENT} "
            f"concurrent {MAX_REPORT_BYTES >> 20} MB reports; manifest limit {manifest_limit() >> 20} MiB"
        )
        assert peak < manifest_limit()
    finally:
        hub.terminate()
        hub.wait(timeout=30)
