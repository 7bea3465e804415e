#!/usr/bin/env python3
"""Every target of issue #15 against its peer, in one run: start-up, no-op diff, render, fleet-wide render and
preview, the agent's idle pass and the first apply.

Two fresh clusters on one etcd: razee applies to one, `kubectl apply --server-side` the same rendered objects to the
other; then each tool's no-op diff runs against its own cluster (best of 3). Sizes: the example fleet's spoke
au-syd-spoke-1 as shipped (55 objects), and grown by 200 customer clusters (about 2,255 objects). razee runs with
its render cache warm (a repeated diff, the usual case) and cold (RAZEE_NO_CACHE=1, a changed repo).
The fleet-wide figures use the generated 15,000-cluster fleet (scripts/bench/fleetgen.py); the preview's peer is
two full renders (the same preview with its shortcut off), the first apply's is `kubectl apply --server-side` of
the same 2,020 objects (scripts/bench/kube_vs_kubectl.py's fleet). `--skip-fleet` leaves out the fleet-wide part.
Each line prints the figure, the target and, where there is one, the peer and the ratio.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
SPOKE = "au-syd-spoke-1"
# kubectl of the test server's own version first on PATH: the peer measured at the release it is made for
os.environ["PATH"] = (
    subprocess.run(
        [PY, str(REPO / "scripts" / "testenv"), "path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    + ":"
    + os.environ.get("PATH", "")
)


def run(cmd: list[str], ok: tuple[int, ...] = (0,), env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - t0
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd[:5])}... exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed


def best(n: int, cmd: list[str], ok: tuple[int, ...] = (0,), env: dict[str, str] | None = None) -> float:
    return min(run(cmd, ok, env) for _ in range(n))


def fleet_copy(dest: Path, extra_clusters: int) -> Path:
    for part in ("environments", "templates", "charts", "kustomize"):  # what sources read too
        shutil.copytree(REPO / part, dest / part)
    region_file = dest / "environments" / "regions" / "au-syd.yaml"
    region = yaml.safe_load(region_file.read_text())
    for i in range(extra_clusters):
        region["clusters"].append(
            {
                "name": f"grown-{i:03d}",
                "spoke": SPOKE,
                "workerPools": [{"name": "default", "flavor": "b3c.4x16", "sizePerZone": 1, "zones": ["syd01"]}],
            }
        )
    region_file.write_text(yaml.safe_dump(region, sort_keys=False))
    return dest


def line(
    name: str, figure: float, target: str, peer: float | None = None, peer_name: str = "kubectl", unit: str = "s"
) -> None:
    text = f"{name:<48} {figure:7.3f} {unit:<5} target {target:<28}"
    if peer is not None:
        text += f" {peer_name} {peer:7.3f} s   razee is {peer / figure:5.1f}x faster"
    print(text, flush=True)


def razee_cmd(root: Path, kc: str, *args: str) -> list[str]:
    return [PY, "-m", "razee", *args, "--repo", str(root), "--spoke", SPOKE, "--kubeconfig", kc, "--no-infra"]


def compare_diff(label: str, root: Path, kc_razee: str, kc_kubectl: str, target: str, tmp: Path) -> None:
    manifest = tmp / f"{label}.yaml"
    with manifest.open("w") as fh:
        subprocess.run([PY, "-m", "razee", "render", "--repo", str(root), "--spoke", SPOKE], stdout=fh, check=True)
    count = manifest.read_text().count("\nkind: ") + 1
    run(razee_cmd(root, kc_razee, "apply", "-q"))
    for _ in range(2):  # CRDs first; their custom resources apply once the CRDs are served
        run(["kubectl", "--kubeconfig", kc_kubectl, "apply", "--server-side", "-f", str(manifest)], ok=(0, 1))
    kubectl = best(3, ["kubectl", "--kubeconfig", kc_kubectl, "diff", "--server-side", "-f", str(manifest)])
    warm = best(3, razee_cmd(root, kc_razee, "diff"))
    cold = best(3, razee_cmd(root, kc_razee, "diff"), env={"RAZEE_NO_CACHE": "1"})
    line(f"no-op diff, {label} ({count} objects), cache warm", warm, target, kubectl)
    line(f"no-op diff, {label} ({count} objects), cache cold", cold, target, kubectl)


def agent_idle_cpu(root: Path, kc: str, tmp: Path) -> tuple[float, int]:
    """CPU seconds of an agent pass with no new commit and nothing drifted (in process, after a first pass).

    The agent's loop reads live state from watches (razee/kube/watchcache.py); run_pass alone would LIST, so the
    watches are started here as the loop starts them. The first pass is the warm-up: it LISTs each scope once and
    opens the watches; the passes measured after it read the watched copies. The watch threads run in this
    process, so their CPU (none while nothing changes) is counted too. The figure is the median of 5 passes, so a
    pass that pays for a garbage collection counts.
    """
    sys.path.insert(0, str(REPO))
    from razee.agent.core import Agent, AgentSettings
    from razee.reconcile import PassOptions

    agent = Agent(
        AgentSettings(
            spoke=SPOKE,
            repo=str(root),
            kubeconfig=kc,
            state_dir=tmp / "agent",
            interval=3600,
            poll=1,
            pass_options=PassOptions(infra=False),
        )
    )
    agent.watch_live()
    try:
        agent.run_pass(leader=True)
        samples = []
        for _ in range(5):
            c0 = time.process_time()
            outcome = agent.run_pass(leader=True)
            samples.append(time.process_time() - c0)
            assert outcome.result == "in-sync", outcome.result
    finally:
        agent.close_live()
    return sorted(samples)[len(samples) // 2], outcome.requests


def first_apply(tmp: Path, kc_razee: str, kc_kubectl: str) -> None:
    """2,020 objects in 20 new namespaces: `razee apply` (a server-side dry run of each, then the apply) against
    `kubectl apply --server-side` (the apply alone)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from kube_vs_kubectl import razee, render, write_fleet

    root, manifest = tmp / "apply-fleet", tmp / "apply.yaml"
    write_fleet(root, 20, {})
    count = render(root, manifest)
    ours, _ = razee(["apply", "-q"], root, kc_razee)
    # without -v: request logging would slow kubectl down
    theirs = run(["kubectl", "--kubeconfig", kc_kubectl, "apply", "--server-side", "-f", str(manifest)])
    line(f"first apply ({count} objects)", ours, ">= 2x kubectl", theirs)


def fleet_scale(tmp: Path) -> None:
    """The generated fleet: one 250-cluster spoke in process, the whole fleet, and a preview of a template that
    every cluster uses against two full renders."""
    import git

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(REPO))
    from fleetgen import generate
    from preview import commit, timed

    from razee.fleet.loader import load_fleet
    from razee.render.parallel import workers
    from razee.render.renderer import Renderer, render_spokes

    root = generate(tmp / "generated", REPO)
    repo = git.Repo.init(root)
    commit(repo, "generated fleet")
    fleet = load_fleet(root)
    views = list(fleet.spokes())
    renderer = Renderer(root, fleet)
    renderer.render_spoke(views[0])  # compiles the templates
    samples = []
    for view in views[1:4]:
        t0 = time.perf_counter()
        renderer.render_spoke(view)
        samples.append(time.perf_counter() - t0)
    line(f"render one {len(views[1].clusters)}-cluster spoke, in process", min(samples), "< 0.25 s")
    t0 = time.perf_counter()
    fleet = load_fleet(root)
    objects = sum(len(r.manifests) for r in render_spokes(root, fleet, fleet.spokes()))
    line(
        f"load + render the fleet ({len(views)} spokes, {objects:,} objects, {workers()} workers)",
        time.perf_counter() - t0,
        "< 15 s",
    )
    template = root / "templates" / "cluster" / "namespace.yaml.j2"
    template.write_text(
        template.read_text().replace(
            '    razee.io/managed: "true"', '    razee.io/managed: "true"\n    razee.io/touched: x', 1
        )
    )
    commit(repo, "template used by every cluster")
    everywhere, summary = timed(root)
    two_full, _ = timed(root, full=True)
    line(
        f"preview: template used everywhere ({summary['objects']:,} objects change)",
        everywhere,
        "< 40 s and <= two full renders",
        two_full,
        "two full renders",
    )


def main() -> None:
    # Measure razee as installed: with bytecode (a shell that sets PYTHONDONTWRITEBYTECODE would otherwise have
    # every run compile razee's sources again, about 0.2 s that no installed copy pays).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "razee")], check=True)
    help_time = best(5, [PY, "-m", "razee", "--help"])
    line("razee --help", help_time, "< 0.15 s")
    if "--skip-fleet" not in sys.argv:  # before the clusters start: their controllers would share the cores
        with tempfile.TemporaryDirectory() as t:
            fleet_scale(Path(t))
    testenv = [PY, str(REPO / "scripts" / "testenv")]
    proc = subprocess.run([*testenv, "start", "hot-razee", "hot-kubectl"], capture_output=True, text=True, check=True)
    kc_razee, kc_kubectl = proc.stdout.split()[-2:]
    cache = tempfile.mkdtemp(prefix="razee-bench-cache-")
    os.environ["RAZEE_CACHE_DIR"] = cache
    try:
        with tempfile.TemporaryDirectory() as t:
            tmp = Path(t)
            small = fleet_copy(tmp / "small", 0)
            compare_diff("example spoke", small, kc_razee, kc_kubectl, ">= 2x kubectl", tmp)
            grown = fleet_copy(tmp / "grown", 200)
            compare_diff("grown spoke", grown, kc_razee, kc_kubectl, ">= 20x kubectl", tmp)
            render = [PY, "-m", "razee", "render", "--repo", str(grown), "--spoke", SPOKE]
            line("razee render, grown spoke, cache cold", best(3, render, env={"RAZEE_NO_CACHE": "1"}), "< 0.5 s")
            line("razee render, grown spoke, cache warm", best(3, render), "< 0.5 s")
            idle, requests = agent_idle_cpu(grown, kc_razee, tmp)
            line(f"agent idle pass (median, {requests} API requests), grown spoke", idle, "< 0.1 CPU s", unit="CPU s")
            first_apply(tmp, kc_razee, kc_kubectl)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        subprocess.run([*testenv, "stop", "hot-razee", "hot-kubectl"], capture_output=True)


if __name__ == "__main__":
    main()
