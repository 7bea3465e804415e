#!/usr/bin/env python3
"""Hub metrics and notifications at the seed's scale: 60 spokes and 15,000 clusters (the generated fleet repo) on
SQLite. Measures what one look at the fleet costs (the snapshot behind /metrics' gauges and the notifications), a
scrape of /metrics (p50/p99; looks are cached 5 s), and report ingestion over HTTP without --notify and with
--notify pointing at a receiver that never answers (it must not slow ingestion).
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hub import REPO, SPOKES, fleet_repo, percentiles, report

sys.path.insert(0, str(REPO))
from razee.hub.auth import create_token
from razee.hub.migrate import upgrade
from razee.hub.store import Store, engine_for
from razee.hub.transitions import take_snapshot


class Hang(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        time.sleep(3600)

    def log_message(self, *args: Any) -> None:
        pass


def run(db: str, repo: Path, revision: str, reports: int, clients: int, notify: str | None) -> dict[str, float]:
    store = Store(engine_for(db))
    upgrade(store.engine)
    tokens = {s: create_token(store, "agent", s)[0] for s in SPOKES}
    reader = create_token(store, "reader", None)[0]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    extra = ["--notify", notify] if notify else []
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
            "--repo",
            repo.as_uri(),
            "--state-dir",
            tempfile.mkdtemp(prefix="razee-bench-"),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(headers={"Authorization": f"Bearer {reader}"}) as http:
            for _ in range(900):
                try:
                    if http.get(url + "/api/v1/summary").json()["declaredRevision"] == revision:
                        break
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                time.sleep(0.2)
            else:
                raise SystemExit("the hub did not read the fleet repo")
        rng = random.Random(1)
        work = [report(SPOKES[i % len(SPOKES)], revision, rng) for i in range(reports)]
        stored = [0]
        lock = threading.Lock()

        def post_all(chunk: list[dict[str, Any]]) -> None:
            with httpx.Client(timeout=60) as http:
                for body in chunk:
                    r = http.post(
                        url + "/api/v1/reports", json=body, headers={"Authorization": f"Bearer {tokens[body['spoke']]}"}
                    )
                    with lock:
                        stored[0] += r.status_code == 201

        threads = [threading.Thread(target=post_all, args=(work[i::clients],)) for i in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out = {"ingest": stored[0] / (time.perf_counter() - t0)}
        looks = []
        for _ in range(20):
            t1 = time.perf_counter()
            snap = take_snapshot(store)
            looks.append(time.perf_counter() - t1)
        assert len(snap.spokes) == len(SPOKES)
        out["look_p50"], out["look_p99"] = percentiles(looks)
        scrapes = []
        with httpx.Client() as http:
            for _ in range(200):
                t1 = time.perf_counter()
                http.get(url + "/metrics").raise_for_status()
                scrapes.append(time.perf_counter() - t1)
        out["scrape_p50"], out["scrape_p99"] = percentiles(scrapes)
        out["scrape_max"] = max(scrapes) * 1000
        return out
    finally:
        hub.terminate()
        hub.wait(timeout=30)
        store.engine.dispose()


def main() -> None:
    reports = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    clients = 8
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Hang)
    receiver.daemon_threads = True
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hang = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    with tempfile.TemporaryDirectory() as tmp:
        revision = fleet_repo(Path(tmp) / "fleet")
        plain = run(f"sqlite:///{tmp}/a.sqlite", Path(tmp) / "fleet", revision, reports, clients, None)
        hung = run(f"sqlite:///{tmp}/b.sqlite", Path(tmp) / "fleet", revision, reports, clients, hang)
    print(f"60 spokes, 15,000 clusters, SQLite; {reports} reports from {clients} concurrent clients")
    print(f"{'':34}{'no --notify':>14}{'--notify (hangs)':>18}")
    print(f"{'ingest (reports/s)':34}{plain['ingest']:14.0f}{hung['ingest']:18.0f}")
    for key, label in (("look", "one look at the fleet p50/p99 ms"), ("scrape", "/metrics scrape p50/p99 ms")):
        print(
            f"{label:34}{plain[key + '_p50']:7.1f} /{plain[key + '_p99']:5.1f}"
            f"{hung[key + '_p50']:11.1f} /{hung[key + '_p99']:5.1f}"
        )
    print(f"{'/metrics scrape max ms':34}{plain['scrape_max']:14.1f}{hung['scrape_max']:18.1f}")
    print(
        f"ingestion with a hanging receiver within 20% of without: "
        f"{'PASS' if hung['ingest'] >= 0.8 * plain['ingest'] else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
