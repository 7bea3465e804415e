#!/usr/bin/env python3
"""Policy gate benchmark: what the gate adds to rendering the generated fleet (60 spokes, 15,000 clusters).

Target (issue 18): the Pod Security Standards at the restricted level plus five custom CEL rules add under 20 % to
the render time. Each spoke is rendered, then gated (every shipped rule, PSS restricted, the five rules below);
the two are timed apart. With --compare-libraries it also times the five rules on one spoke's objects in both CEL
implementations on PyPI: common-expression-language (used) and cel-python (pip install cel-python to include it).
Usage: .venv/bin/python scripts/bench/policy.py [--spokes-per-region 10] [--clusters-per-spoke 250]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleetgen import generate

from razee.fleet.loader import FLEET_FILE, load_fleet
from razee.objects import Manifest
from razee.policy.gate import check_policies
from razee.render.renderer import Renderer

REPO = Path(__file__).resolve().parents[2]

RULES: list[dict[str, Any]] = [
    {
        "name": "workloads-part-of-armada",
        "match": {"kinds": ["Deployment", "StatefulSet", "DaemonSet"]},
        "expression": "has(object.metadata.labels) && 'app.kubernetes.io/part-of' in object.metadata.labels",
        "message": "every workload says what it is part of",
    },
    {
        "name": "memory-limits",
        "match": {"kinds": ["Deployment", "StatefulSet"]},
        "expression": "object.spec.template.spec.containers.all(c, has(c.resources.limits) && "
        "has(c.resources.limits.memory))",
        "message": "every container has a memory limit",
    },
    {
        "name": "replica-ceiling",
        "match": {"kinds": ["Deployment"]},
        "expression": "!has(object.spec.replicas) || object.spec.replicas <= (spoke.region == 'au-syd' ? 3 : 5)",
        "message": "at most 5 replicas (3 in au-syd)",
    },
    {
        "name": "no-daemonsets-in-canary",
        "expression": "spoke.wave != 'canary' || object.kind != 'DaemonSet'",
        "message": "DaemonSets reach canary spokes only after review",
    },
    {
        "name": "short-names",
        "expression": "size(object.metadata.name) <= 253 && !object.metadata.name.contains('_')",
        "message": "names are DNS subdomains",
    },
]


def cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def compare_libraries(manifests: tuple[Manifest, ...], spoke: dict[str, str]) -> None:
    """The five rules on every object they match, in each CEL library, each given only the fields a rule reads."""
    from importlib.metadata import version

    import cel

    from razee.fleet.model import CustomRule
    from razee.policy.custom import compile_rule, prune

    compiled = [compile_rule(CustomRule.model_validate(r)) for r in RULES]
    pairs = [
        (i, m.obj if r.paths is None else prune(m.obj, r.paths))
        for m in manifests
        for i, r in enumerate(compiled)
        if r.matches(m)
    ]
    context = cel.Context({"spoke": spoke})
    t0 = time.perf_counter()
    for i, obj in pairs:
        context.add_variable("object", obj)
        assert compiled[i].program.execute(context) is True
    fast = (time.perf_counter() - t0) / len(pairs)
    print(
        f"common-expression-language {version('common-expression-language')}: {fast * 1e6:.1f} us per evaluation "
        f"({len(pairs):,} rule-object pairs of one spoke)"
    )
    try:
        import celpy
    except ImportError:
        print("cel-python: not installed (pip install cel-python to compare)")
        return
    env = celpy.Environment()
    programs = [env.program(env.compile(r["expression"])) for r in RULES]
    sample = pairs[:3000]
    t0 = time.perf_counter()
    for i, obj in sample:
        assert programs[i].evaluate({"object": celpy.json_to_cel(obj), "spoke": celpy.json_to_cel(spoke)})
    slow = (time.perf_counter() - t0) / len(sample)
    print(
        f"cel-python {version('cel-python')}: {slow * 1e6:.1f} us per evaluation ({len(sample):,} pairs); "
        f"{slow / fast:.0f}x slower"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spokes-per-region", type=int, default=10)
    ap.add_argument("--clusters-per-spoke", type=int, default=250)
    ap.add_argument("--source", type=Path, default=REPO)
    ap.add_argument("--compare-libraries", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "fleet", args.source, args.spokes_per_region, args.clusters_per_spoke)
        spec = yaml.safe_load((root / FLEET_FILE).read_text())
        spec["policies"]["podSecurity"] = {"level": "restricted"}
        spec["policies"]["custom"] = RULES
        (root / FLEET_FILE).write_text(yaml.safe_dump(spec, sort_keys=False))
        fleet = load_fleet(root)
        views = list(fleet.spokes())
        clusters = sum(len(v.clusters) for v in views)
        print(
            f"fleet: {len(fleet.regions)} regions, {len(views)} spokes, {clusters} clusters; "
            f"PSS restricted, {len(RULES)} custom rules"
        )
        renderer = Renderer(root, fleet)
        shipped = fleet.spec.model_copy(update={"policies": fleet.spec.policies.model_copy(update={"custom": []})})
        fleet_shipped = type(fleet)(shipped, fleet.regions, fleet.assignments, fleet.region_files)
        render_s = gate_s = gate_shipped_s = 0.0
        render_cpu = gate_cpu = 0.0
        objects = 0
        for i, view in enumerate(views):
            c0, t0 = cpu_s(), time.perf_counter()
            rendered = renderer.render_spoke(view)
            c1, t1 = cpu_s(), time.perf_counter()
            findings = check_policies(fleet, [rendered])
            c2, t2 = cpu_s(), time.perf_counter()
            if findings:
                raise SystemExit(f"the example fleet should pass; {len(findings)} finding(s), first: {findings[0]}")
            render_s, gate_s = render_s + t1 - t0, gate_s + t2 - t1
            render_cpu, gate_cpu = render_cpu + c1 - c0, gate_cpu + c2 - c1
            objects += len(rendered.manifests)
            if i % 4 == 0:  # a sample of spokes with the shipped rules alone, to split the cost (CPU)
                c3 = cpu_s()
                check_policies(fleet_shipped, [rendered])
                gate_shipped_s += (cpu_s() - c3) * 4
            if args.compare_libraries and i == 1:
                compare_libraries(
                    rendered.manifests, {"name": view.spoke.name, "region": view.region.name, "wave": view.spoke.wave}
                )
        share = gate_s / render_s * 100
        print(f"render: {render_s:.1f} s wall, {render_cpu:.1f} s CPU for {objects:,} objects")
        print(
            f"gate (shipped rules incl. PSS restricted + {len(RULES)} CEL rules): {gate_s:.1f} s wall, "
            f"{gate_cpu:.1f} s CPU (parent and CEL children); shipped rules alone about {gate_shipped_s:.1f} s CPU"
        )
        print(
            f"gate adds {share:.1f} % to the render time ({gate_cpu / render_cpu * 100:.1f} % in CPU)  "
            f"target < 20 %: {'PASS' if share < 20 else 'FAIL'}"
        )
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
