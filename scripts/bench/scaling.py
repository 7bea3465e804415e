#!/usr/bin/env python3
"""razee vs kubectl from 50 to 5,000 objects (issue #15): first apply and no-op diff, as JSON, a table and a chart.

Per size, a fresh pair of clusters on one etcd (scripts/testenv): razee applies to one, `kubectl apply
--server-side` the same rendered objects to the other. The objects are kube_vs_kubectl.py's mix (Namespaces,
ConfigMaps, Services, Deployments, Roles, RoleBindings), scaled: ceil(N / 101) namespaces of about 100 objects each.
Cases:
- first apply: `razee apply` (render cache cold, as for a new revision) vs `kubectl apply --server-side` of the
  rendered YAML; best of --apply-runs, each on a new pair of clusters;
- no-op diff: `razee diff` with the render cache warm (a repeated diff) and cold (RAZEE_NO_CACHE=1) vs
  `kubectl diff --server-side`; best of --runs, the three interleaved.
Before each timed step both clusters' control planes are left to go quiet (the controller-manager turns
Deployments into ReplicaSets and Pods), so neither tool pays for the other's aftermath.
Writes docs/benchmarks/scaling.json (every run, the machine) and scaling.png (time against object count, log-log),
and prints a table with the ratios kubectl / razee. --plot-only re-draws the chart and table from the JSON.
On 2 shared cores: --quick takes about 2.5 min, all six sizes with --runs 5 --apply-runs 2 about 37 min (most of
it waiting for the control planes to go quiet after thousands of Deployments).
Usage: .venv/bin/python scripts/bench/scaling.py [--sizes 50,200,500,1000,2000,5000 | --quick] [--runs 3]
       [--apply-runs 1] [--json PATH] [--png PATH] [--plot-only]      (the chart needs the `bench` extra)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kube_vs_kubectl import KUBE_VERSION, MIX, PY, REPO, kubectl, razee, render, run, write_fleet

SIZES = [50, 200, 500, 1000, 2000, 5000]
QUICK_SIZES = [50, 200, 500]
CLUSTERS = ("scale-razee", "scale-kubectl")
OUT = REPO / "docs" / "benchmarks"
# one line per case: (key, label, colour, line style, marker)
CASES = [
    ("razee diff warm", "razee diff (cache warm)", "tab:blue", "-", "o"),
    ("razee diff cold", "razee diff (cache cold)", "tab:blue", "--", "o"),
    ("kubectl diff", "kubectl diff --server-side", "tab:orange", "-", "s"),
    ("razee apply", "razee apply", "tab:green", "-", "o"),
    ("kubectl apply", "kubectl apply --server-side", "tab:red", "-", "s"),
]
TESTENV = [PY, str(REPO / "scripts" / "testenv")]


def mix_for(objects: int) -> tuple[int, dict[str, int]]:
    """Namespaces, and the mix in each, that make `objects` objects in kube_vs_kubectl.py's proportions."""
    namespaces = max(1, math.ceil(objects / (1 + 2 * MIX["roles"] + MIX["configmaps"] + 2 * MIX["services"])))
    per = max(5, objects // namespaces - 1)  # objects in a namespace besides the namespace itself
    roles = max(1, round(per * 5 / 100))
    services = max(1, round(per * 20 / 100))
    return namespaces, {"roles": roles, "configmaps": per - 2 * roles - 2 * services, "services": services}


def testenv_pids() -> list[int]:
    state_dir = Path(os.environ.get("RAZEE_TESTENV_DIR", REPO / ".testenv"))
    state = json.loads((state_dir / "state.json").read_text())
    pids = [state["etcd"]["pid"]] if state.get("etcd") else []
    for name in CLUSTERS:
        cluster = state["clusters"].get(name, {})
        pids += [p for p in (cluster.get(role) for role in ("pid", "cm_pid", "sched_pid", "kwok_pid")) if p]
    return pids


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(limit: float = 240.0, quiet: float = 0.15) -> float:
    """Wait until etcd and both clusters use under `quiet` CPU seconds per second, twice running; return the wait."""
    pids = testenv_pids()
    t0 = time.perf_counter()
    calm, last = 0, cpu_seconds(pids)
    while calm < 2 and time.perf_counter() - t0 < limit:
        time.sleep(1.0)
        now = cpu_seconds(pids)
        calm = calm + 1 if now - last < quiet else 0
        last = now
    return time.perf_counter() - t0


def fresh_clusters() -> tuple[str, str]:
    run([*TESTENV, "stop", *CLUSTERS])  # drops their etcd keys: the new pair starts empty
    _, started = run([*TESTENV, "start", *CLUSTERS])
    kc_razee, kc_kubectl = started.stdout.split()[-2:]
    settle()
    return kc_razee, kc_kubectl


@contextlib.contextmanager
def no_cache() -> Iterator[None]:
    os.environ["RAZEE_NO_CACHE"] = "1"
    try:
        yield
    finally:
        del os.environ["RAZEE_NO_CACHE"]


def record(results: dict[str, Any], case: str, figure: tuple[float, int]) -> None:
    entry = results.setdefault(case, {"runs": [], "requests": []})
    entry["runs"].append(round(figure[0], 4))
    entry["requests"].append(figure[1])
    entry["best"] = min(entry["runs"])
    print(f"  {case:<16} {figure[0]:8.2f} s {figure[1]:6d} requests", flush=True)


def measure(objects: int, runs: int, apply_runs: int, tmp: Path) -> dict[str, Any]:
    namespaces, mix = mix_for(objects)
    root, manifest = tmp / f"fleet-{objects}", tmp / f"objects-{objects}.yaml"
    write_fleet(root, namespaces, {}, mix)
    count = render(root, manifest)
    print(f"{count} objects: {namespaces} namespaces of {mix}", flush=True)
    cases: dict[str, Any] = {}
    settled: list[float] = []
    for _ in range(apply_runs):
        kc_razee, kc_kubectl = fresh_clusters()
        with no_cache():
            record(cases, "razee apply", razee(["apply", "-q"], root, kc_razee))
        settled.append(settle())
        record(cases, "kubectl apply", kubectl(["apply", "--server-side"], manifest, kc_kubectl))
        settled.append(settle())
    razee(["diff"], root, kc_razee)  # untimed: fills the render cache, as any earlier diff or apply would
    for _ in range(runs):
        record(cases, "kubectl diff", kubectl(["diff", "--server-side"], manifest, kc_kubectl))
        record(cases, "razee diff warm", razee(["diff"], root, kc_razee))
        with no_cache():
            record(cases, "razee diff cold", razee(["diff"], root, kc_razee))
    return {
        "objects": count,
        "namespaces": namespaces,
        "mix": mix,
        "cases": cases,
        "settle_seconds": [round(s, 1) for s in settled],
        "loadavg_after": list(os.getloadavg()),
    }


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    kubectl_version = json.loads(
        subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True).stdout or "{}"
    )
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "loadavg_start": list(os.getloadavg()),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "kubectl": kubectl_version.get("clientVersion", {}).get("gitVersion", "unknown"),
        "kube_apiserver": f"{KUBE_VERSION} (built from Go modules by scripts/build-tools)",
    }


def table(data: dict[str, Any]) -> str:
    head = (
        "| objects | razee diff warm | razee diff cold | kubectl diff | kubectl/razee warm | kubectl/razee cold "
        "| razee apply | kubectl apply | kubectl/razee apply |"
    )
    lines = [head, "|" + "---:|" * head.count(" | ") + "---:|"]
    for size in data["sizes"]:
        c = {k: v["best"] for k, v in size["cases"].items()}
        lines.append(
            f"| {size['objects']:,} | {c['razee diff warm']:.2f} s | {c['razee diff cold']:.2f} s "
            f"| {c['kubectl diff']:.2f} s | {c['kubectl diff'] / c['razee diff warm']:.1f}x "
            f"| {c['kubectl diff'] / c['razee diff cold']:.1f}x | {c['razee apply']:.2f} s "
            f"| {c['kubectl apply']:.2f} s | {c['kubectl apply'] / c['razee apply']:.1f}x |"
        )
    return "\n".join(lines)


def plot(data: dict[str, Any], png: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("scaling: the chart needs matplotlib: .venv/bin/pip install -e '.[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    m = data["machine"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), sharey=True, layout="constrained")
    xs = [s["objects"] for s in data["sizes"]]
    for ax, title, keys in ((axes[0], "no-op diff", CASES[:3]), (axes[1], "first apply", CASES[3:])):
        for key, label, colour, style, marker in keys:
            ys = [s["cases"][key]["best"] for s in data["sizes"]]
            ax.plot(xs, ys, color=colour, linestyle=style, marker=marker, label=label)
            ax.annotate(
                f"{ys[-1]:.1f} s",
                (xs[-1], ys[-1]),
                textcoords="offset points",
                xytext=(6, -3),
                fontsize=8,
                color=colour,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(xs)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(xs[0] * 0.8, xs[-1] * 1.6)
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.4)
        ax.legend(loc="upper left")
    axes[0].set_ylabel("wall time, best run (s)")
    fig.supxlabel(
        "objects: Namespaces, ConfigMaps, Services, Deployments, Roles, RoleBindings (log scale)", fontsize=10
    )
    fig.suptitle(
        f"razee vs kubectl against object count: {m['nproc']} cores ({m['cpu_model']}), shared; "
        f"{m['date']}\nkube-apiserver {m['kube_apiserver'].split()[0]} on loopback, kubectl {m['kubectl']}; "
        f"best of {data['settings']['runs']} diffs, {data['settings']['apply_runs']} apply per size",
        fontsize=10,
    )
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    print(f"chart: {png}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", help="object counts, comma-separated (default: 50,200,500,1000,2000,5000)")
    parser.add_argument("--quick", action="store_true", help="50, 200 and 500 objects; output in a temp dir")
    parser.add_argument("--runs", type=int, default=3, help="no-op diffs per tool and size (best is kept)")
    parser.add_argument("--apply-runs", type=int, default=1, help="first applies per size, each on new clusters")
    parser.add_argument("--json", type=Path, help="figures (default docs/benchmarks/scaling.json)")
    parser.add_argument("--png", type=Path, help="chart (default docs/benchmarks/scaling.png)")
    parser.add_argument("--plot-only", action="store_true", help="re-draw the chart and table from --json")
    args = parser.parse_args()
    out = Path(tempfile.gettempdir()) / "razee-scaling-quick" if args.quick else OUT
    json_path, png = args.json or out / "scaling.json", args.png or out / "scaling.png"
    if args.plot_only:
        data = json.loads(json_path.read_text())
        print(table(data))
        plot(data, png)
        return
    sizes = (
        [int(s.replace("_", "")) for s in args.sizes.split(",")] if args.sizes else QUICK_SIZES if args.quick else SIZES
    )
    # Measure razee as installed: with bytecode (as scripts/bench/hotpath.py does)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "razee")], check=True)
    data: dict[str, Any] = {
        "machine": machine(),
        "settings": {"runs": args.runs, "apply_runs": args.apply_runs, "sizes": sizes},
        "sizes": [],
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="razee-scaling-") as t:
        os.environ["RAZEE_CACHE_DIR"] = str(Path(t) / "cache")
        try:
            for objects in sorted(sizes):
                size_started = time.perf_counter()
                data["sizes"].append(measure(objects, args.runs, args.apply_runs, Path(t)))
                data["sizes"][-1]["wall_seconds"] = round(time.perf_counter() - size_started, 1)
        finally:
            run([*TESTENV, "stop", *CLUSTERS])
    data["machine"]["loadavg_end"] = list(os.getloadavg())
    data["total_seconds"] = round(time.perf_counter() - started, 1)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"figures: {json_path} ({data['total_seconds']:.0f} s in all)")
    print(table(data))
    plot(data, png)


if __name__ == "__main__":
    main()
