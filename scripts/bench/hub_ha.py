#!/usr/bin/env python3
"""Hub replicas benchmark: reports per second that one `razee hub serve` and two of them ingest on one PostgreSQL.

Both setups run in the same run, on fresh databases of the same real PostgreSQL server (tests/pgserver.py), with the
same load: the 60-spoke reports of scripts/bench/hub.py, posted over HTTP by client processes (several, so the
clients' own interpreter is not the bottleneck), each client spread across the replicas. Rounds alternate one and
two replicas, so a shared machine's load changes hit both alike; the median round of each is printed, and the ratio.
No fleet repo is followed: this measures ingestion (what a second replica adds), not the views.

    .venv/bin/python scripts/bench/hub_ha.py [REPORTS_PER_ROUND] [ROUNDS]
"""

from __future__ import annotations

import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hub import SPOKES, report  # noqa: E402  (scripts/bench/hub.py: the same reports)

from razee.hub.auth import create_token  # noqa: E402
from razee.hub.migrate import upgrade  # noqa: E402
from razee.hub.store import Store, engine_for  # noqa: E402
from tests.pgserver import PostgresServer  # noqa: E402

CLIENT_PROCESSES = 4
THREADS_PER_CLIENT = 4


def start_hub(db: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = open(log, "ab")  # noqa: SIM115 - the child keeps it open
    proc = subprocess.Popen(
        [sys.executable, "-m", "razee", "hub", "serve", "--db", db, "--listen", f"127.0.0.1:{port}"],
        stdout=out,
        stderr=out,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"a hub did not start; see {log}")


def client(urls: list[str], tokens: dict[str, str], bodies: list[dict[str, Any]], start: Any, results: Any) -> None:
    """One client process: threads posting its share, each thread to the replicas in turn."""
    stored, failed = [0], [0]
    lock = threading.Lock()

    def post_all(chunk: list[dict[str, Any]], first: int) -> None:
        with httpx.Client(timeout=60) as http:
            for n, body in enumerate(chunk):
                url = urls[(first + n) % len(urls)]
                try:
                    r = http.post(
                        url + "/api/v1/reports", json=body, headers={"Authorization": f"Bearer {tokens[body['spoke']]}"}
                    )
                    ok = r.status_code == 201
                except httpx.HTTPError:
                    ok = False
                with lock:
                    (stored if ok else failed)[0] += 1

    threads = [
        threading.Thread(target=post_all, args=(bodies[i::THREADS_PER_CLIENT], i)) for i in range(THREADS_PER_CLIENT)
    ]
    start.wait()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((stored[0], failed[0]))


def round_(pg: PostgresServer, replicas: int, reports: int, n: int, tmp: Path) -> tuple[float, int]:
    db = pg.create_database(f"r{replicas}n{n}")
    store = Store(engine_for(db))
    upgrade(store.engine)
    tokens = {s: create_token(store, "agent", s)[0] for s in SPOKES}
    store.engine.dispose()
    hubs = [start_hub(db, tmp / f"hub-{replicas}-{n}-{i}.log") for i in range(replicas)]
    try:
        urls = [u for _, u in hubs]
        rng = random.Random(n)
        work = [report(SPOKES[i % len(SPOKES)], "rev-2" if i % 3 else "rev-1", rng) for i in range(reports)]
        ctx = multiprocessing.get_context("fork")
        start, results = ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=client, args=(urls, tokens, work[i::CLIENT_PROCESSES], start, results))
            for i in range(CLIENT_PROCESSES)
        ]
        for p in procs:
            p.start()
        time.sleep(1.0)  # the clients are forked and waiting
        t0 = time.perf_counter()
        start.set()
        totals = [results.get(timeout=900) for _ in procs]
        elapsed = time.perf_counter() - t0
        for p in procs:
            p.join(timeout=60)
        return sum(s for s, _ in totals) / elapsed, sum(f for _, f in totals)
    finally:
        for proc, _ in hubs:
            proc.terminate()
            proc.wait(timeout=60)


def main() -> None:
    reports = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rates: dict[int, list[float]] = {1: [], 2: []}
    failures = {1: 0, 2: 0}
    pg = PostgresServer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(rounds):
                for replicas in (1, 2):
                    rate, failed = round_(pg, replicas, reports, n, Path(tmp))
                    rates[replicas].append(rate)
                    failures[replicas] += failed
                    print(f"round {n + 1}, {replicas} replica(s): {rate:.0f} reports/s", flush=True)
    finally:
        pg.close()
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(
        f"{reports} reports per round (60 spokes, {CLIENT_PROCESSES} client processes x {THREADS_PER_CLIENT} "
        f"threads), {rounds} rounds, one PostgreSQL; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    print(f"{'':24}{'1 replica':>12}{'2 replicas':>12}{'ratio':>8}")
    print(f"{'ingest (reports/s)':24}{one:12.0f}{two:12.0f}{two / one:8.2f}")
    print(f"failed posts: {failures[1]} / {failures[2]}")


if __name__ == "__main__":
    main()
