"""Infrastructure through the local provider's real SQLite state, in-process and as real CLI processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from razee.backoff import Backoff
from razee.fleet.loader import load_fleet
from razee.infra.executor import ExecOptions, apply_infra
from razee.infra.local import LocalCloud
from razee.infra.model import DesiredCluster
from razee.infra.planner import plan_infra
from razee.source.local import BUILTIN_FLEET
from tests.conftest import run_razee
from tests.fleetrepo import region_copy, write_repo


def worker_counts(db: Path) -> Counter[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT cluster, pool, zone FROM workers WHERE deleting_at IS NULL").fetchall()
    return Counter(tuple(r) for r in rows)


def big_region(clusters: int = 3, size: int = 10) -> dict[str, Any]:
    region = region_copy()
    region["zones"] = ["dal10", "dal12", "dal13"]
    region["spokes"] = [{"name": "spoke-a", "wave": "canary", "capacity": 50}]
    region["clusters"] = [
        {
            "name": f"c{i}",
            "workerPools": [
                {"name": "default", "flavor": "b3c.4x16", "sizePerZone": size, "zones": ["dal10", "dal12", "dal13"]}
            ],
        }
        for i in range(clusters)
    ]
    return region


def expected(clusters: int = 3, size: int = 10) -> Counter[tuple[str, str, str]]:
    return Counter({(f"c{i}", "default", z): size for i in range(clusters) for z in ("dal10", "dal12", "dal13")})


def test_failing_and_lost_requests_are_retried_and_never_duplicated(tmp_path: Path) -> None:
    fleet = load_fleet(write_repo(tmp_path / "fleet", regions=[big_region()]))
    view = fleet.find_spoke("spoke-a")
    assert view is not None
    desired = [DesiredCluster.from_fleet(c) for c in view.clusters]
    db = tmp_path / "cloud.sqlite"
    cloud = LocalCloud({"db": str(db), "delay": "0", "fail_rate": "0.3", "lost_rate": "0.3", "seed": "42"})
    try:
        plan = plan_infra("spoke-a", "local", desired, cloud.observe([d.name for d in desired], "spoke-a"))
        quick = ExecOptions(backoff=Backoff(first=0.001, cap=0.01), attempts=20)
        result = apply_infra(cloud, plan, quick, sleep=lambda s: None)
        assert result.ok, result.failed
        assert result.retries > 10  # failures really happened and were retried
    finally:
        cloud.close()
    assert worker_counts(db) == expected()  # lost responses were retried with the same token: no duplicates


def test_a_request_that_keeps_failing_is_reported_and_changes_nothing(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet", regions=[big_region(clusters=1, size=1)])
    db = tmp_path / "cloud.sqlite"
    r = run_razee(
        "apply",
        "--repo",
        str(root),
        "--spoke",
        "spoke-a",
        "--no-kube",
        "--infra-db",
        str(db),
        env={"RAZEE_LOCAL_CLOUD_FAIL_RATE": "1", "RAZEE_LOCAL_CLOUD_DELAY": "0"},
    )
    assert r.returncode == 4
    assert "create cluster c0" in r.stderr and "injected failure" in r.stderr and "gave up after 5 attempts" in r.stderr
    assert worker_counts(db) == Counter()


def test_killed_mid_apply_then_a_second_apply_converges_without_duplicates(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet", regions=[big_region()])
    db = tmp_path / "cloud.sqlite"
    env = {**os.environ, "RAZEE_LOCAL_CLOUD_DELAY": "0", "RAZEE_LOCAL_CLOUD_LATENCY": "0.02"}
    args = [
        sys.executable,
        "-m",
        "razee",
        "apply",
        "-q",
        "--repo",
        str(root),
        "--spoke",
        "spoke-a",
        "--no-kube",
        "--infra-db",
        str(db),
        "--concurrency",
        "2",
    ]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if db.exists() and sum(worker_counts(db).values()) >= 10:
                break
        except sqlite3.OperationalError:  # the file exists a moment before the simulated cloud's tables do
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = sum(worker_counts(db).values())
    assert 10 <= partial < 90, partial  # really interrupted midway

    second = subprocess.run(args, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert worker_counts(db) == expected()
    third = run_razee("diff", "--repo", str(root), "--spoke", "spoke-a", "--no-kube", "--infra-db", str(db))
    assert third.returncode == 0 and "infrastructure (local): no changes" in third.stdout


def test_rolling_flavor_change_with_real_provisioning_delays(tmp_path: Path) -> None:
    region = big_region(clusters=1, size=2)
    root = write_repo(tmp_path / "fleet", regions=[region])
    db = tmp_path / "cloud.sqlite"
    cli = ["--repo", str(root), "--spoke", "spoke-a", "--no-kube", "--infra-db", str(db)]
    fast = {"RAZEE_LOCAL_CLOUD_DELAY": "0.2"}
    assert run_razee("apply", "-q", *cli, env=fast).returncode == 0
    time.sleep(0.5)
    region["clusters"][0]["workerPools"][0]["flavor"] = "m3c.8x64"
    write_repo(root, regions=[region])
    diff = run_razee("diff", *cli, env=fast)
    assert diff.returncode == 1
    assert "6 create-worker, 6 delete-worker" in diff.stdout
    assert "infra wave 3:" in diff.stdout  # 6 replacements, 2 at a time: waves 0..3
    applied = run_razee("apply", "-q", *cli, env=fast)
    assert applied.returncode == 0, applied.stderr
    time.sleep(0.5)  # deletions finish one delay after they were asked for
    assert run_razee("diff", *cli, env=fast).returncode == 0  # observing also forgets finished deletions
    with sqlite3.connect(db) as conn:
        flavors = Counter(r[0] for r in conn.execute("SELECT flavor FROM workers"))
    assert flavors == {"m3c.8x64": 6}


def test_example_spoke_infrastructure_converges_from_empty(tmp_path: Path) -> None:
    db = tmp_path / "cloud.sqlite"
    cli = ["--repo", str(BUILTIN_FLEET), "--spoke", "us-south-spoke-1", "--no-kube", "--infra-db", str(db)]
    env = {"RAZEE_LOCAL_CLOUD_DELAY": "0"}
    first = run_razee("diff", *cli, env=env)
    assert first.returncode == 1 and "create cluster" in first.stdout
    assert run_razee("apply", "-q", *cli, env=env).returncode == 0
    fleet = load_fleet(BUILTIN_FLEET)
    view = fleet.find_spoke("us-south-spoke-1")
    assert view is not None
    want = Counter(
        {(c.name, p.name, z): p.size_per_zone for c in view.clusters for p in c.worker_pools for z in p.zones}
    )
    assert worker_counts(db) == +want
    assert run_razee("diff", *cli, env=env).returncode == 0
