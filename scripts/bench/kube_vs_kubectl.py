#!/usr/bin/env python3
"""razee vs kubectl on the same 2,000 objects, same run, two fresh clusters on one etcd.

Objects: 20 namespaces x (50 ConfigMaps, 20 Services, 20 Deployments, 5 Roles, 5 RoleBindings).
Cases: first apply (`razee apply` vs `kubectl apply --server-side`), no-op diff (`razee diff` vs `kubectl diff`),
and a 5 % change (diff and apply). Prints wall time, API requests and the ratios.
Targets (issue 4): no-op diff >= 10x faster than kubectl diff; first apply >= 2x faster.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable


def use_test_tools() -> str:
    """Put kubectl of the test server's own version (and helm, kustomize) first on PATH: the peer is measured at the
    release it is made for. Returns the server version (RAZEE_KUBE_VERSION, as scripts/testenv picks it)."""
    path = subprocess.run(
        [PY, str(REPO / "scripts" / "testenv"), "path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    os.environ["PATH"] = f"{path}:{os.environ.get('PATH', '')}"
    return Path(path.split(":")[0]).parent.name.removeprefix("kube-")


KUBE_VERSION = use_test_tools()

TEMPLATE = """\
{% for n in range(values.namespaces) %}
{% set ns = "bench-" ~ n %}
---
apiVersion: v1
kind: Namespace
metadata: {name: {{ ns }}}
{% for i in range(values.mix.roles) %}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: role-{{ i }}, namespace: {{ ns }}}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: binding-{{ i }}, namespace: {{ ns }}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: role-{{ i }}}
subjects: [{kind: ServiceAccount, name: default, namespace: {{ ns }}}]
{% endfor %}
{% for i in range(values.mix.configmaps) %}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: config-{{ i }}, namespace: {{ ns }}}
data: {key: "value-{{ i }}{{ values.changed.get(ns ~ '/' ~ i, '') }}", other: "x"}
{% endfor %}
{% for i in range(values.mix.services) %}
---
apiVersion: v1
kind: Service
metadata: {name: svc-{{ i }}, namespace: {{ ns }}}
spec:
  selector: {app: app-{{ i }}}
  ports: [{port: 80, targetPort: 8080, protocol: TCP}]  # explicit: kubectl's SSA on 1.20 needed it
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-{{ i }}, namespace: {{ ns }}}
spec:
  replicas: 1
  selector: {matchLabels: {app: app-{{ i }}}}
  template:
    metadata: {labels: {app: app-{{ i }}}}
    spec:
      containers:
      - name: app
        image: icr.io/bench/app:{{ values.changed.get(ns ~ '/d' ~ i, '1') }}
        resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 64Mi}}
{% endfor %}
{% endfor %}
"""


MIX = {"roles": 5, "configmaps": 50, "services": 20}  # per namespace; as many RoleBindings and Deployments


def write_fleet(root: Path, namespaces: int, changed: dict[str, str], mix: dict[str, int] | None = None) -> None:
    """A fleet of one spoke, `bench`, whose render is `namespaces` namespaces of the objects in `mix`."""
    import yaml

    (root / "environments" / "regions").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "spoke").mkdir(parents=True, exist_ok=True)
    fleet = {
        "name": "bench",
        "clusterDefaults": {"kubeVersion": "1.20.2"},
        "rollout": {"waves": [{"name": "all"}]},
        # the benchmark measures the engine; its namespaces carry no NetworkPolicies
        "policies": {"allowedRegistries": ["icr.io/*"], "rules": {"namespace-network-policy": {"enabled": False}}},
        "values": {"namespaces": namespaces, "changed": changed, "mix": mix or MIX},
    }
    region = {"name": "local", "zones": ["z1"], "spokes": [{"name": "bench", "wave": "all"}]}
    (root / "environments" / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    (root / "environments" / "regions" / "local.yaml").write_text(yaml.safe_dump(region))
    (root / "templates" / "spoke" / "objects.yaml.j2").write_text(TEMPLATE)


def run(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd[:4])}... exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed, proc


def razee(args: list[str], root: Path, kc: str, ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    elapsed, proc = run([PY, "-m", "razee", *args, "--repo", str(root), "--spoke", "bench", "--kubeconfig", kc], ok)
    found = re.findall(r"\((\d+) API requests[,)]", proc.stdout + proc.stderr)
    return elapsed, sum(int(n) for n in found)


def kubectl(args: list[str], manifest: Path, kc: str, ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    elapsed, proc = run(["kubectl", "--kubeconfig", kc, *args, "-f", str(manifest), "-v=6"], ok)
    # kubectl up to 1.2x logs `GET https://...`; later releases log structured `verb="GET" url="https://..."`
    requests = len(
        re.findall(
            r"round_trippers\.go:\d+\].*(?:\b(?:GET|PATCH|POST|PUT|DELETE) https|"
            r"verb=\"[A-Z]+\" url=\"https)",
            proc.stderr,
        )
    )
    return elapsed, requests


def render(root: Path, out: Path) -> int:
    _, proc = run([PY, "-m", "razee", "render", "--repo", str(root), "--spoke", "bench"])
    out.write_text(proc.stdout)
    return proc.stdout.count("\nkind: ")


def row(name: str, r: tuple[float, int], k: tuple[float, int]) -> None:
    print(
        f"{name:<22} razee {r[0]:7.2f} s {r[1]:6d} req | kubectl {k[0]:7.2f} s {k[1]:6d} req | "
        f"razee is {k[0] / r[0]:5.1f}x faster, {k[1] / max(r[1], 1):6.1f}x fewer requests"
    )


def main() -> None:
    namespaces = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    testenv = [PY, str(REPO / "scripts" / "testenv")]
    _, started = run([*testenv, "start", "bench-razee", "bench-kubectl"])
    kc_razee, kc_kubectl = started.stdout.split()[-2:]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root, manifest = Path(tmp) / "fleet", Path(tmp) / "all.yaml"
            write_fleet(root, namespaces, {})
            count = render(root, manifest)
            print(f"{count} objects in {namespaces} namespaces")
            row(
                "first apply",
                razee(["apply", "-q"], root, kc_razee),
                kubectl(["apply", "--server-side"], manifest, kc_kubectl),
            )
            row("no-op diff", razee(["diff"], root, kc_razee), kubectl(["diff", "--server-side"], manifest, kc_kubectl))
            changed = {f"bench-{n}/{i}": "-v2" for n in range(namespaces) for i in range(3)}
            changed |= {f"bench-{n}/d{i}": "2" for n in range(namespaces) for i in range(2)}
            write_fleet(root, namespaces, changed)
            render(root, manifest)
            print(f"5 % change: {len(changed)} objects changed")
            row(
                "5 % change: diff",
                razee(["diff"], root, kc_razee, ok=(1,)),
                kubectl(["diff", "--server-side"], manifest, kc_kubectl, ok=(1,)),
            )
            row(
                "5 % change: apply",
                razee(["apply", "-q"], root, kc_razee),
                kubectl(["apply", "--server-side"], manifest, kc_kubectl),
            )
    finally:
        run([*testenv, "stop", "bench-razee", "bench-kubectl"])


if __name__ == "__main__":
    main()
