#!/usr/bin/env python3
"""Hub benchmark: a fleet of 60 spokes and 15,000 clusters reporting to a real `razee hub serve`, on SQLite and
PostgreSQL side by side. The hub follows a generated fleet repo of that size (scripts/bench/fleetgen.py), so every
view joins the declared fleet with the reports. Measures report ingestion over HTTP with concurrent clients, the
latency of the summary, drift and rollout queries, and the dashboard's pages (fleet, rollout, one spoke; signed
in through the login form) as p50/p99. Targets (issues 7 and 14, SQLite): >= 500 reports/s, summary p99 < 100 ms,
dashboard pages p99 < 500 ms.
"""

from __future__ import annotations

import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from fleetgen import generate  # noqa: E402  (scripts/bench is on sys.path when run as a script)

from razee.hub.auth import create_token  # noqa: E402
from razee.hub.migrate import upgrade  # noqa: E402
from razee.hub.store import Store, engine_for  # noqa: E402
from tests.pgserver import PostgresServer  # noqa: E402  (the same real server the tests use)

REGIONS = ["us-south", "us-east", "eu-de", "eu-gb", "jp-tok", "au-syd"]
SPOKES = [f"{r}-spoke-{i + 1}" for r in REGIONS for i in range(10)]
OBJECTS_PER_SPOKE = 250 * 11 + 31  # 250 clusters, 11 objects each, plus the spoke's own


def report(spoke: str, revision: str, rng: random.Random) -> dict[str, Any]:
    drifted = [
        {
            "group": "apps",
            "kind": "Deployment",
            "namespace": f"master-c{n:03d}",
            "name": "kube-apiserver",
            "status": "drifted",
            "paths": ["/spec/replicas"],
        }
        for n in rng.sample(range(250), rng.choice([0, 0, 0, 1, 3]))
    ]
    return {
        "schema": 1,
        "id": str(uuid.uuid4()),
        "time": time.time(),
        "spoke": spoke,
        "region": spoke.rsplit("-spoke-", 1)[0],
        "agent": f"{spoke}-0",
        "result": "drifted" if drifted else "in-sync",
        "source": {"revision": revision, "author": "ops", "message": "bench"},
        "objects": drifted,
        "counts": {"synced": OBJECTS_PER_SPOKE - len(drifted), "drifted": len(drifted)},
        "durations": {"total": 0.4},
        "apiRequests": 12,
    }


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def fleet_repo(dest: Path) -> str:
    """The generated 60-spoke, 15,000-cluster fleet in a git repo; returns its revision."""
    generate(dest, REPO)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench fleet"]):
        subprocess.run(
            ["git", "-c", "user.name=bench", "-c", "user.email=bench@razee.local", *args], cwd=dest, check=True
        )
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=dest, check=True, capture_output=True, text=True
    ).stdout.strip()


def bench(db: str, reports: int, clients: int, repo: Path, revision: str) -> dict[str, float]:
    store = Store(engine_for(db))
    upgrade(store.engine)
    tokens = {s: create_token(store, "agent", s)[0] for s in SPOKES}
    reader = create_token(store, "reader", None)[0]
    store.engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cache = tempfile.mkdtemp(prefix="razee-bench-hub-")
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
            cache,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(headers={"Authorization": f"Bearer {reader}"}) as http:
            for _ in range(600):  # the hub reads the 15,000-cluster fleet from the repo
                if http.get(url + "/api/v1/summary").json()["declaredRevision"] == revision:
                    break
                time.sleep(0.2)
            else:
                raise SystemExit("the hub did not read the fleet repo")
        rng = random.Random(1)
        seed = [report(s, "rev-1", rng) for s in SPOKES]
        with httpx.Client() as http:
            for body in seed:
                http.post(
                    url + "/api/v1/reports", json=body, headers={"Authorization": f"Bearer {tokens[body['spoke']]}"}
                )
        # each client posts for its own spokes, one report after another, as each spoke's agent delivers its outbox
        # in order (one token never has two reports in flight, so the hub's per-token cap never refuses one)
        owned = [SPOKES[c::clients] for c in range(clients)]
        work = [
            report(owned[i % clients][(i // clients) % len(owned[i % clients])], "rev-2" if i % 3 else "rev-1", rng)
            for i in range(reports)
        ]
        lock, errors, stored = threading.Lock(), [], [0]

        def post_all(chunk: list[dict[str, Any]]) -> None:
            with httpx.Client() as http:
                for body in chunk:
                    headers = {"Authorization": f"Bearer {tokens[body['spoke']]}"}
                    for _ in range(3):  # as an agent's outbox would: a dropped connection is retried
                        try:
                            r = http.post(url + "/api/v1/reports", json=body, headers=headers)
                            break
                        except httpx.TransportError as e:
                            with lock:
                                errors.append(type(e).__name__)
                    else:
                        continue
                    with lock:
                        if r.status_code in (200, 201):
                            stored[0] += 1
                        if r.status_code != 201:
                            errors.append(str(r.status_code))

        threads = [threading.Thread(target=post_all, args=(work[i::clients],)) for i in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rate = stored[0] / (time.perf_counter() - t0)
        out = {"ingest": rate, "errors": float(len(errors))}
        if errors:
            print(f"{db.split(':')[0]}: {len(errors)} retried or failed posts: {sorted(set(errors))}")
        with httpx.Client(headers={"Authorization": f"Bearer {reader}"}) as http:
            for name, path, params in (
                ("summary", "/api/v1/summary", {}),
                ("drift", "/api/v1/drift", {"region": "eu-de", "limit": 100}),
                ("rollout", "/api/v1/rollout", {"revision": "rev-2"}),
                ("declared rollout", "/api/v1/rollout", {"revision": revision}),
            ):
                samples = []
                for _ in range(200):
                    t1 = time.perf_counter()
                    http.get(url + path, params=params).raise_for_status()
                    samples.append(time.perf_counter() - t1)
                out[f"{name}_p50"], out[f"{name}_p99"] = percentiles(samples)
        with httpx.Client() as browser:  # as a person's browser: the login form, then the cookie
            assert browser.post(url + "/login", data={"token": reader}).status_code == 303
            for name, path in (("page /", "/"), ("page /rollout", "/rollout"), ("page /spoke", f"/spoke/{SPOKES[7]}")):
                samples = []
                for _ in range(50):
                    t1 = time.perf_counter()
                    r = browser.get(url + path)
                    r.raise_for_status()
                    assert "<html" in r.text
                    samples.append(time.perf_counter() - t1)
                out[f"{name}_p50"], out[f"{name}_p99"] = percentiles(samples)
        return out
    finally:
        hub.terminate()
        hub.wait(timeout=30)


def main() -> None:
    reports = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    clients = 16
    with tempfile.TemporaryDirectory() as tmp:
        revision = fleet_repo(Path(tmp) / "fleet")
        sqlite = bench(f"sqlite:///{tmp}/hub.sqlite", reports, clients, Path(tmp) / "fleet", revision)
        pg = PostgresServer()
        try:
            postgres = bench(pg.create_database("bench"), reports, clients, Path(tmp) / "fleet", revision)
        finally:
            pg.close()
    print(
        f"60 spokes, 15,000 clusters ({OBJECTS_PER_SPOKE} objects per spoke report, counted; drift itemised); "
        f"{reports} reports from {clients} concurrent clients over HTTP to one hub process"
    )
    print(f"{'':22}{'SQLite':>12}{'PostgreSQL':>14}")
    print(
        f"{'ingest (reports/s)':22}{sqlite['ingest']:12.0f}{postgres['ingest']:14.0f}   target >= 500 on SQLite: "
        f"{'PASS' if sqlite['ingest'] >= 500 else 'FAIL'}"
    )
    for q in ("summary", "drift", "rollout", "declared rollout", "page /", "page /rollout", "page /spoke"):
        print(
            f"{q + ' p50/p99 ms':22}{sqlite[q + '_p50']:6.1f} /{sqlite[q + '_p99']:5.1f}"
            f"{postgres[q + '_p50']:7.1f} /{postgres[q + '_p99']:5.1f}"
        )
    print(
        f"summary p99 < 100 ms on SQLite: {'PASS' if sqlite['summary_p99'] < 100 else 'FAIL'}; "
        f"retried posts: {sqlite['errors']:.0f} / {postgres['errors']:.0f}"
    )
    pages = max(sqlite[f"{p}_p99"] for p in ("page /", "page /rollout", "page /spoke"))
    print(f"dashboard pages p99 < 500 ms on SQLite: {'PASS' if pages < 500 else 'FAIL'} ({pages:.0f} ms)")


if __name__ == "__main__":
    main()
