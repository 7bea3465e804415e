#!/usr/bin/env python3
"""Fair ingest under a flood (issue 24, case 3): one spoke posts 45,000-object reports (about 4 MB, valid, every
object itemised) 6 at a time, while 5 other spokes post ordinary reports one after another; measures the others'
report latency (median, p99, worst) on SQLite and PostgreSQL, for a baseline git ref's hub (default `main`, exported
with `git archive`, never checked out) and for this tree's hub, side by side.

Two kinds of flood: `churn`, where every itemised object changes between two reports (the worst case for writing
only what changed), and `steady`, where the flood repeats its state (what a busy agent does). The flooding clients
behave as agents do: a 429 is retried after its Retry-After. Every flood report acknowledged and every other
spoke's report is checked to be stored afterwards.

    .venv/bin/python scripts/bench/hub_flood.py [--baseline REF] [--seconds 30] [--kinds churn,steady]
"""

from __future__ import annotations

import argparse
import json
import os
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
from tests.pgserver import PostgresServer  # noqa: E402  (the same real server the tests use)

FLOOD_OBJECTS = 45_000
FLOOD_CLIENTS = 6
OTHERS = 5
OTHER_EVERY = 0.25
"""Each other spoke posts a report every quarter second (a fleet's worth of ordinary traffic on a shared hub)."""
RETRY_AFTER_CAP = 30.0


def flood_body(variant: int) -> bytes:
    """A 45,000-object report just under the hub's 4 MiB limit; `variant` alternates every object's drift path."""
    path = "/a" if variant % 2 else "/b"
    objects = [
        {"group": "", "kind": "Pod", "namespace": "n", "name": f"p{i}", "status": "drifted", "paths": [path]}
        for i in range(FLOOD_OBJECTS)
    ]
    body = {
        "schema": 1,
        "id": "@ID@",
        "time": 0,
        "spoke": "flood",
        "region": "eu-de",
        "agent": "f",
        "result": "drifted",
        "source": {"revision": "rev-1"},
        "objects": objects,
        "counts": {"drifted": FLOOD_OBJECTS},
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    assert len(raw) < 4 << 20, len(raw)
    return raw


def small_body(spoke: str) -> dict[str, Any]:
    return {
        "schema": 1,
        "id": str(uuid.uuid4()),
        "time": time.time(),
        "spoke": spoke,
        "region": "us-south",
        "agent": f"{spoke}-0",
        "result": "drifted",
        "source": {"revision": "rev-1"},
        "objects": [
            {
                "group": "apps",
                "kind": "Deployment",
                "namespace": "master-c001",
                "name": "kube-apiserver",
                "status": "drifted",
                "paths": ["/spec/replicas"],
            }
        ],
        "counts": {"synced": 2781, "drifted": 1},
        "durations": {"total": 0.4},
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def export(ref: str, dest: Path) -> Path:
    """The razee package at `ref`, as files (git archive reads the object store; nothing is checked out)."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref, "razee"], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def razee(code: Path, *args: str, background: bool = False) -> Any:
    env = {**os.environ, "PYTHONPATH": str(code)}
    cmd = [sys.executable, "-m", "razee", *args]
    if background:
        return subprocess.Popen(cmd, cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.run(cmd, cwd=code, env=env, check=True, capture_output=True, text=True).stdout.strip()


def run(code: Path, db: str, kind: str, seconds: float) -> dict[str, float]:
    tokens = {
        s: razee(code, "hub", "token", "create", "--db", db, "--role", "agent", "--spoke", s)
        for s in ["flood", *(f"spoke-{i}" for i in range(OTHERS))]
    }
    reader = razee(code, "hub", "token", "create", "--db", db, "--role", "reader")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    hub = razee(code, "hub", "serve", "--db", db, "--listen", f"127.0.0.1:{port}", background=True)
    bodies = [flood_body(0), flood_body(1) if kind == "churn" else flood_body(0)]
    try:
        for _ in range(600):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        stop = threading.Event()
        lock = threading.Lock()
        acked: list[str] = []
        refused: list[str] = []
        too_many = [0]
        other_ids: list[str] = []
        latency: list[float] = []
        quiet: list[float] = []

        def flood(n: int) -> None:
            i = n
            with httpx.Client(
                timeout=120, headers={"Authorization": f"Bearer {tokens['flood']}", "Content-Type": "application/json"}
            ) as http:
                while not stop.is_set():
                    report_id = str(uuid.uuid4())
                    raw = (
                        bodies[i % 2]
                        .replace(b"@ID@", report_id.encode())
                        .replace(b'"time":0', f'"time":{time.time()}'.encode())
                    )
                    i += FLOOD_CLIENTS
                    try:
                        r = http.post(url + "/api/v1/reports", content=raw)
                    except httpx.HTTPError as e:
                        with lock:
                            refused.append(type(e).__name__)
                        continue
                    if r.status_code == 429:
                        with lock:
                            too_many[0] += 1
                        stop.wait(min(float(r.headers.get("retry-after", "1")), RETRY_AFTER_CAP))
                    elif r.status_code in (200, 201):
                        with lock:
                            acked.append(report_id)
                    else:
                        with lock:
                            refused.append(str(r.status_code))

        def other(spoke: str, out: list[float], until: threading.Event) -> None:
            with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {tokens[spoke]}"}) as http:
                while not until.is_set():
                    body = small_body(spoke)
                    t0 = time.perf_counter()
                    r = http.post(url + "/api/v1/reports", json=body)
                    took = time.perf_counter() - t0
                    with lock:
                        if r.status_code == 201:
                            out.append(took)
                            other_ids.append(body["id"])
                        else:
                            refused.append(f"other {r.status_code}")
                    until.wait(max(0.0, OTHER_EVERY - took))

        calm = threading.Event()  # the others alone first: their latency without a flood
        threads = [threading.Thread(target=other, args=(f"spoke-{i}", quiet, calm)) for i in range(OTHERS)]
        for t in threads:
            t.start()
        time.sleep(min(10.0, seconds / 3))
        calm.set()
        for t in threads:
            t.join()
        floods = [threading.Thread(target=flood, args=(n,)) for n in range(FLOOD_CLIENTS)]
        for t in floods:
            t.start()
        time.sleep(3)  # the flood is under way before the others are measured
        threads = [threading.Thread(target=other, args=(f"spoke-{i}", latency, stop)) for i in range(OTHERS)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads + floods:
            t.join()
        elapsed = time.perf_counter() - t0
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {reader}"}) as http:
            stored_other = sum(
                1
                for s in range(OTHERS)
                for item in http.get(url + f"/api/v1/spokes/spoke-{s}/history", params={"limit": 1000}).json()["items"]
            )
        ordered = sorted(latency)
        return {
            "median": statistics.median(ordered) * 1000,
            "p99": ordered[int(len(ordered) * 0.99) - 1] * 1000,
            "worst": ordered[-1] * 1000,
            "quiet": statistics.median(quiet) * 1000,
            "others": len(latency),
            "stored_others": stored_other,
            "flood_acked": len(acked),
            "flood_rate": len(acked) / elapsed,
            "flood_429": too_many[0],
            "errors": len(refused),
            "lost": len(other_ids) - stored_other,
            "error_kinds": ",".join(sorted(set(refused))),
        }  # type: ignore[dict-item]
    finally:
        hub.terminate()
        try:
            hub.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still storing a flood report: the run is over anyway
            hub.kill()
            hub.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="main", help="git ref of the hub to compare with (default main)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the measured flood lasts")
    parser.add_argument("--kinds", default="churn,steady", help="flood kinds: churn, steady or both")
    parser.add_argument("--only", default="", help="run only 'baseline' or 'this'")
    args = parser.parse_args()
    results: dict[tuple[str, str, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        codes = {"baseline": export(args.baseline, Path(tmp) / "baseline"), "this": REPO}
        if args.only:
            codes = {args.only: codes[args.only]}
        pg = PostgresServer()
        try:
            for kind in args.kinds.split(","):
                for name, code in codes.items():
                    for db in ("sqlite", "postgres"):
                        url = (
                            f"sqlite:///{tmp}/{name}-{kind}.sqlite"
                            if db == "sqlite"
                            else pg.create_database(f"{name}_{kind}")
                        )
                        results[(kind, name, db)] = r = run(code, url, kind, args.seconds)
                        print(f"{kind:7} {name:9} {db:9} {r}", flush=True)
        finally:
            pg.close()
    print(
        f"\nOther spokes' report latency (ms) while one spoke posts {FLOOD_OBJECTS:,}-object reports "
        f"{FLOOD_CLIENTS} at a time ({OTHERS} other spokes, one report each every {OTHER_EVERY}s, "
        f"{args.seconds:.0f} s); baseline = {args.baseline}"
    )
    print(
        f"{'flood':8}{'hub':10}{'database':10}{'quiet p50':>10}{'p50':>9}{'p99':>9}{'worst':>9}"
        f"{'flood/s':>9}{'429s':>7}{'lost':>6}{'errors':>7}"
    )
    # lost: other spokes' acknowledged reports missing from their history afterwards (must be 0)
    for (kind, name, db), r in results.items():
        print(
            f"{kind:8}{name:10}{db:10}{r['quiet']:10.0f}{r['median']:9.0f}{r['p99']:9.0f}{r['worst']:9.0f}"
            f"{r['flood_rate']:9.2f}{r['flood_429']:7.0f}{r['lost']:6.0f}{r['errors']:7.0f}"
        )
    for kind in args.kinds.split(","):
        for db in ("sqlite", "postgres"):
            before, after = results.get((kind, "baseline", db)), results.get((kind, "this", db))
            if before and after:
                print(
                    f"{kind} on {db}: median {before['median'] / max(after['median'], 0.001):.1f}x, "
                    f"worst {before['worst'] / max(after['worst'], 0.001):.1f}x lower than {args.baseline}"
                )


if __name__ == "__main__":
    main()
