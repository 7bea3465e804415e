#!/usr/bin/env python3
"""The whole product on one machine: a hub, three spokes (three kube-apiservers on one etcd) in two waves, and
their agents, reconciling the built-in example fleet from a local git repo. Then a commit rolls out wave by wave.

The example fleet declares 12 spokes; the quickstart runs 3 of them. The hub follows the same repo, so it knows the
other 9 and shows them as never reported; the second canary (eu-de-spoke-1) is silent, so the main wave holds,
naming it, until the canary wave's progress deadline turns its silence into a failure the wave tolerates
(maxFailures 1). That is the real behaviour of a fleet with a dead canary, shortened for a demo.

    scripts/quickstart            set up and run it all (what README calls the quickstart)
    scripts/quickstart stop       tear it all down

Pods are made Ready by each cluster's kwok (a demo aid: no kubelet runs here); workers are simulated by the `local`
provider. Everything lives under .testenv/quickstart/.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
HOME = REPO / ".testenv" / "quickstart"
PY = str(REPO / ".venv" / "bin" / "python")
SPOKES = {"us-south-spoke-1": "canary", "us-south-spoke-2": "main", "eu-de-spoke-2": "main"}
BAKE = os.environ.get("RAZEE_QUICKSTART_BAKE", "15s")
DEADLINE = os.environ.get("RAZEE_QUICKSTART_DEADLINE", "30s")
INTERVAL = 20
CLUSTERS = REPO / ".testenv" / "quickstart-clusters"  # its own etcd and apiservers: `stop` ends all of them
TESTENV = {"RAZEE_TESTENV_DIR": str(CLUSTERS)}


def say(text: str) -> None:
    print(f"\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"== {text}", flush=True)


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise SystemExit("no free port")


def tools_env() -> dict[str, str]:
    """PATH with the test environment's helm (and kubectl, kustomize) first: the example fleet's chart is rendered
    by helm, in the agents and in the CLI's preview."""
    tools = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "testenv"), "path"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **TESTENV},
    ).stdout.split()[-1]
    return {"PATH": f"{tools}:{os.environ.get('PATH', '')}"}


def razee(*args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([PY, "-m", "razee", *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode not in (0, 1):
        raise SystemExit(f"razee {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def background(name: str, args: list[str], env: dict[str, str] | None = None) -> int:
    log = open(HOME / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it open
    proc = subprocess.Popen(
        args,
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    return proc.pid


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=quickstart", "-c", "user.email=quickstart@razee.local", *args],
        cwd=HOME / "fleet",
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def rollout(hub: str, token: str, revision: str) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(
        f"{hub}/api/v1/rollout", params={"revision": revision}, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()
    return result


def wait_rollout(hub: str, token: str, revision: str, timeout: float) -> float:
    """Follow a revision's rollout, printing each change: who applied it, and why a wave holds."""
    start, last = time.monotonic(), None
    while time.monotonic() - start < timeout:
        state = rollout(hub, token, revision)
        ours = [s for s in state["applied"] if s in SPOKES]
        gates = "; ".join(
            f"{w['name']}: {'may take it' if w['gate']['allowed'] else w['gate']['reason']}"
            + (f" ({', '.join(w['timedOut'])} past the progress deadline)" if w["timedOut"] else "")
            for w in state.get("waves", [])
        )
        line = f"applied: {', '.join(ours) or '-'}   gate: {gates or '?'}"
        key = re.sub(r"\d+s left", "", line)  # a bake countdown is not news
        if key != last:
            print(f"  {time.monotonic() - start:5.0f}s  {line}", flush=True)
            last = key
        if len(ours) == len(SPOKES):
            return time.monotonic() - start
        time.sleep(1)
    raise SystemExit(f"the rollout of {revision[:12]} did not finish in {timeout:.0f}s; see {HOME}/*.log")


def up() -> float:
    if (HOME / "pids.json").exists():
        stop(quiet=True)
    HOME.mkdir(parents=True, exist_ok=True)
    os.environ.update(tools_env())  # every razee below (hub, agents, CLI) finds helm
    say("three local clusters (one etcd, three kube-apiservers)")
    names = {spoke: f"qs-{i}" for i, spoke in enumerate(SPOKES)}
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "testenv"), "start", *names.values()],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **TESTENV},
    ).stdout.split()
    kubeconfigs = dict(zip(SPOKES, out[-len(SPOKES) :], strict=True))

    say(
        f"the fleet repo: the built-in example fleet (templates, and the chart charts/armada-metrics its "
        f"templates declare as a source) in a local git repo; bake times {BAKE}, and a {DEADLINE} progress deadline "
        "on the canary wave, for the demo"
    )
    fleet = HOME / "fleet"
    shutil.rmtree(fleet, ignore_errors=True)
    fleet.mkdir()
    for part in ("environments", "templates", "charts", "kustomize"):  # what sources read too
        shutil.copytree(REPO / part, fleet / part)
    spec = yaml.safe_load((fleet / "environments" / "fleet.yaml").read_text())
    for wave in spec["rollout"]["waves"]:
        wave["bakeTime"] = BAKE
    spec["rollout"]["waves"][0].update(progressDeadline=DEADLINE, maxFailures=1)
    (fleet / "environments" / "fleet.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "the example fleet, bake times shortened for the quickstart")

    say("the hub (SQLite), following the same fleet repo, and its tokens")
    port = free_port(8080)
    hub = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{HOME / 'hub.sqlite'}"
    pids = {
        "hub": background(
            "hub",
            [
                PY,
                "-m",
                "razee",
                "hub",
                "serve",
                "--db",
                db,
                "--listen",
                f"127.0.0.1:{port}",
                "--repo",
                fleet.as_uri(),
                "--poll",
                "2s",
                "--state-dir",
                str(HOME / "hub"),
            ],
        )
    }
    for _ in range(100):
        try:
            httpx.get(hub + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    reader = razee("hub", "token", "create", "--db", db, "--role", "reader").strip()
    admin = razee("hub", "token", "create", "--db", db, "--role", "admin").strip()

    say(f"three agents: {', '.join(f'{s} ({w})' for s, w in SPOKES.items())}")
    for spoke, kubeconfig in kubeconfigs.items():
        token_file = HOME / f"{spoke}.token"
        token_file.write_text(razee("hub", "token", "create", "--db", db, "--role", "agent", "--spoke", spoke))
        token_file.chmod(0o600)
        pids[f"agent-{spoke}"] = background(
            f"agent-{spoke}",
            [
                PY,
                "-m",
                "razee",
                "agent",
                "--spoke",
                spoke,
                "--repo",
                f"file://{fleet}",
                "--kubeconfig",
                kubeconfig,
                "--hub",
                hub,
                "--hub-token-file",
                str(token_file),
                "--state-dir",
                str(HOME / spoke),
                "--interval",
                f"{INTERVAL}s",
                "--poll",
                "2s",
                "--listen",
                f"127.0.0.1:{free_port(0)}",
            ],
            env={"RAZEE_LOCAL_CLOUD_DELAY": "1"},
        )
    (HOME / "pids.json").write_text(json.dumps(pids))
    (HOME / "access.json").write_text(json.dumps({"hub": hub, "reader": reader, "admin": admin}))
    (HOME / "access.json").chmod(0o600)

    first = git("rev-parse", "HEAD")
    say(
        f"first rollout of {first[:12]}: the canary wave; the main wave holds while the canary eu-de-spoke-1 is "
        f"silent (no agent runs it here), until the {DEADLINE} progress deadline counts it as a tolerated failure"
    )
    wait_rollout(hub, reader, first, timeout=600)

    values = yaml.safe_load((fleet / "environments" / "fleet.yaml").read_text())
    values["values"]["logLevel"] = "debug"
    values["values"]["metrics"]["replicas"] = 3  # the chart charts/armada-metrics, a HelmChart source
    (fleet / "environments" / "fleet.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    # committed on a side branch first, so the preview is printed before the agents (which follow main) see it
    git("checkout", "-q", "-b", "next")
    git("commit", "-q", "-am", "raise the log level of the armada components; three metrics servers")
    second = git("rev-parse", "HEAD")
    say(
        f"a commit ({second[:12]}: raise the log level, and scale the armada-metrics chart's Deployment): its "
        "preview, then it lands on main and rolls out wave by wave"
    )
    print(razee("diff", "--repo", str(fleet), "--from", first, "--to", second, "-o", "markdown"), flush=True)
    git("checkout", "-q", "main")
    git("merge", "-q", "--ff-only", "next")
    git("branch", "-q", "-d", "next")
    took = wait_rollout(hub, reader, second, timeout=600)
    say(f"rolled out to all {len(SPOKES)} spokes in {took:.0f}s")

    print(razee("hub", "status", "--hub", hub, "--token", reader), flush=True)
    print(f"Dashboard:     {hub}/login   (sign in with the reader or admin token in {HOME / 'access.json'})")
    print(f"Hub commands:  export RAZEE_HUB={hub} RAZEE_HUB_TOKEN={reader}; razee hub status | razee hub drift")
    print(f"Steer:         RAZEE_HUB_TOKEN={admin} razee rollout pause|resume")
    print(f"Fleet repo:    {fleet}   (commit there and watch it roll out)")
    print("Stop it all:   scripts/quickstart stop")
    return took


def stop(quiet: bool = False) -> None:
    pids = json.loads((HOME / "pids.json").read_text()) if (HOME / "pids.json").exists() else {}
    for pid in pids.values():
        with contextlib.suppress(OSError):  # already gone
            os.killpg(pid, signal.SIGTERM)
    # the quickstart's own testenv: stopping it without names ends its etcd too
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "testenv"), "stop"], capture_output=True, env={**os.environ, **TESTENV}
    )
    shutil.rmtree(HOME, ignore_errors=True)
    if not quiet:
        say("stopped: hub, agents, the quickstart clusters (with their kwok) and their etcd")


if __name__ == "__main__":
    if sys.argv[1:] == ["stop"]:
        stop()
    else:
        up()
