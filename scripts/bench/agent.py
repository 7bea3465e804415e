#!/usr/bin/env python3
"""Agent benchmark on a fresh local cluster: commit-to-applied latency, and the cost of an idle pass.

1. Latency with the poll trigger: `razee agent --interval 5s --poll 1s` follows a git repo over file://; a commit
   changes a ConfigMap; the time until the new value is live is measured (3 commits).
2. Latency with the watch trigger: the agent watches a local folder; an edit is measured the same way.
3. Idle passes at 2,000 managed objects: after the first apply, CPU seconds and peak RSS of the agent process
   over several passes with nothing to do, and the pass duration from its own /metrics.
Targets (issue 6): applied within interval + 3 s; an idle pass under 1 s and under 200 MB.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import git
from kubernetes import client, config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kube_vs_kubectl import write_fleet

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
ACTOR = git.Actor("bench", "bench@example.com")
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: latency, namespace: bench-0}}\ndata: {{value: {value}}}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def value(core: client.CoreV1Api) -> str | None:
    try:
        return str(core.read_namespaced_config_map("latency", "bench-0").data["value"])
    except client.ApiException:
        return None


def wait_for(core: client.CoreV1Api, want: str, timeout: float = 120) -> float:
    t0 = time.monotonic()
    while value(core) != want:
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"value {want} never applied")
        time.sleep(0.05)
    return time.monotonic() - t0


STARTED: list[subprocess.Popen[bytes]] = []


def agent(args: list[str], state: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [PY, "-m", "razee", "agent", "--no-infra", "--state-dir", str(state), "--listen", f"127.0.0.1:{port}", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RAZEE_AGENT_IDENTITY": "bench"},
    )
    STARTED.append(proc)  # stopped in main()'s finally, whatever happens
    return proc


def proc_stats(pid: int) -> tuple[float, float]:
    """CPU seconds used and peak RSS in MB of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return cpu, int(hwm.group(1)) / 1024 if hwm else 0.0


def metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    m = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def main() -> None:
    testenv = [PY, str(REPO / "scripts" / "testenv")]
    kc = subprocess.run([*testenv, "start", "bench-agent"], check=True, capture_output=True, text=True).stdout.split()[
        -1
    ]
    core = client.CoreV1Api(config.new_client_from_config(config_file=kc))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "fleet"
            write_fleet(root, 20, {})
            (root / "templates" / "spoke" / "latency.yaml.j2").write_text(CM.format(value="v0"))
            repo = git.Repo.init(root, initial_branch="main")
            repo.git.add(A=True)
            repo.index.commit("bench fleet", author=ACTOR, committer=ACTOR)

            port = free_port()
            proc = agent(
                [
                    "--spoke",
                    "bench",
                    "--repo",
                    f"file://{root}",
                    "--kubeconfig",
                    kc,
                    "--interval",
                    "5s",
                    "--poll",
                    "1s",
                ],
                Path(tmp) / "state-poll",
                port,
            )
            first = wait_for(core, "v0", timeout=300)
            print(f"first pass of 2,020 objects: the test ConfigMap was live {first:.1f} s after the agent started")
            latencies = []
            for i in range(1, 4):
                (root / "templates" / "spoke" / "latency.yaml.j2").write_text(CM.format(value=f"v{i}"))
                repo.git.add(A=True)
                repo.index.commit(f"v{i}", author=ACTOR, committer=ACTOR)
                latencies.append(wait_for(core, f"v{i}"))
            print(
                f"commit-to-applied, poll trigger (interval 5 s, poll 1 s): "
                f"{', '.join(f'{x:.1f}' for x in latencies)} s; target < 8 s: "
                f"{'PASS' if max(latencies) < 8 else 'FAIL'}"
            )

            time.sleep(6)  # let it settle into idle passes
            count0, sum0 = (
                metric(port, "razee_pass_duration_seconds_count"),
                metric(port, "razee_pass_duration_seconds_sum"),
            )
            cpu0, _ = proc_stats(proc.pid)
            time.sleep(16)
            count1, sum1 = (
                metric(port, "razee_pass_duration_seconds_count"),
                metric(port, "razee_pass_duration_seconds_sum"),
            )
            cpu1, rss = proc_stats(proc.pid)
            passes = max(count1 - count0, 1)
            print(
                f"idle passes at 2,020 managed objects: {passes:.0f} passes, {(sum1 - sum0) / passes:.2f} s each, "
                f"{(cpu1 - cpu0) / passes:.2f} CPU s each (incl. polling), peak RSS {rss:.0f} MB; targets "
                f"< 1 s and < 200 MB: {'PASS' if (sum1 - sum0) / passes < 1 and rss < 200 else 'FAIL'}"
            )
            proc.terminate()
            proc.wait(timeout=60)

            local = Path(tmp) / "local"
            write_fleet(local, 1, {})
            (local / "templates" / "spoke" / "latency.yaml.j2").write_text(CM.format(value="w0"))
            port = free_port()
            proc = agent(
                ["--spoke", "bench", "--repo", str(local), "--kubeconfig", kc, "--interval", "60s", "--poll", "1s"],
                Path(tmp) / "state-watch",
                port,
            )
            wait_for(core, "w0", timeout=300)
            time.sleep(2)
            watched = []
            for i in range(1, 4):
                (local / "templates" / "spoke" / "latency.yaml.j2").write_text(CM.format(value=f"w{i}"))
                watched.append(wait_for(core, f"w{i}"))
            print(
                f"edit-to-applied, watch trigger (interval 60 s): {', '.join(f'{x:.1f}' for x in watched)} s "
                "(includes the 1 s debounce)"
            )
            proc.terminate()
            proc.wait(timeout=60)
    finally:
        for proc in STARTED:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)
        subprocess.run([*testenv, "stop", "bench-agent"], capture_output=True)
    print(json.dumps({"poll_latency_s": latencies, "watch_latency_s": watched}))


if __name__ == "__main__":
    main()
