"""The soak's fleet repo: a copy of the built-in example fleet (12 spokes, 6 regions) in a local git repo that the
hub and every agent follow, with the soak's rollout settings, and what each revision must leave on each spoke.

The copy differs from the example in three ways, all in the repo itself so every agent and the hub read them:
the waves bake for `bake` seconds (10 s: the issue's target is stated for 10 s bakes), the canary wave carries a
metric check on the loopback Prometheus (so one step can fail it) and `onFailure: rollback`; and a ConfigMap
`armada/soak-marker` whose `step` names the commit, so "which revision does this cluster run" is one GET.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from razee.kube.client import Kube, load_api_client
from razee.reconcile.expansion import live_spoke
from razee.reconcile.load import fleet_tree, render_spoke
from razee.sources.expand import SourceOptions

REPO = Path(__file__).resolve().parents[2]
CHECK_QUERY = 'max(http_error_ratio{spoke="{{ spoke.name }}"})'
CHECK_MAX = 0.5
MARKER = ("armada", "soak-marker")
MARKER_TEMPLATE = """\
{# The soak's marker: which of its commits this spoke runs (one GET tells). #}
apiVersion: v1
kind: ConfigMap
metadata:
  name: soak-marker
  namespace: armada
  labels:
    app.kubernetes.io/part-of: armada
data:
  step: {{ values.soak.step | string | tojson }}
"""


@dataclass(frozen=True)
class Key:
    """An object's identity as the soak compares it: API group (not version), kind, namespace, name."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}{'.' + self.group if self.group else ''} {self.namespace}/{self.name}".replace(" /", " ")


@dataclass
class Expected:
    """What one revision declares for one spoke: its objects, and the data of its ConfigMaps."""

    spoke: str
    region: str
    objects: dict[Key, str] = field(default_factory=dict)  # key -> apiVersion
    configmaps: dict[Key, dict[str, str]] = field(default_factory=dict)


@dataclass
class Commit:
    """One commit of the soak and what it should do: `applied` everywhere, `refused` everywhere, or `rolled-back`
    (its canary check fails and the canaries return to the revision before)."""

    step: str
    revision: str
    marker: int
    expect: str
    committed_at: float
    outcome: str = ""
    converged_s: float | None = None
    notes: list[str] = field(default_factory=list)


def key_of(obj: dict[str, Any]) -> Key:
    api_version = str(obj["apiVersion"])
    meta = obj.get("metadata") or {}
    return Key(api_version.rpartition("/")[0], str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"]))


class SoakFleet:
    """The fleet repo on disk and its commits."""

    def __init__(self, root: Path, bake: str = "10s") -> None:
        self.root = root
        self.marker = 0
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        for part in ("environments", "templates", "charts", "kustomize"):  # what the fleet's sources read too
            if (REPO / part).is_dir():
                shutil.copytree(REPO / part, root / part)
        (root / "templates" / "spoke" / "soak-marker.yaml.j2").write_text(MARKER_TEMPLATE)

        def settings(spec: dict[str, Any]) -> None:
            spec["rollout"]["onFailure"] = "rollback"
            for wave in spec["rollout"]["waves"]:
                wave["bakeTime"] = bake
            spec["rollout"]["waves"][0]["checks"] = [
                {"name": "error-rate", "query": CHECK_QUERY, "max": CHECK_MAX, "interval": "1s"}
            ]
            spec["values"]["soak"] = {"step": 0}

        self.edit_yaml("environments/fleet.yaml", settings)
        self._git("init", "-q", "-b", "main")

    def _git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=razee soak", "-c", "user.email=soak@razee.local", *args],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def edit_yaml(self, path: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Load a YAML file of the repo, change it in place, write it back (comments are lost: fine for a soak)."""
        file = self.root / path
        doc = yaml.safe_load(file.read_text())
        change(doc)
        file.write_text(yaml.safe_dump(doc, sort_keys=False))

    def edit_text(self, path: str, change: Callable[[str], str]) -> None:
        file = self.root / path
        file.write_text(change(file.read_text()))

    def commit(self, message: str) -> str:
        """Bump the marker and commit everything changed; returns the revision."""
        self.marker += 1
        step = self.marker

        def bump(spec: dict[str, Any]) -> None:
            spec["values"]["soak"]["step"] = step

        self.edit_yaml("environments/fleet.yaml", bump)
        return self.commit_as_is(message)

    def commit_as_is(self, message: str) -> str:
        self._git("add", "-A")
        self._git("commit", "-q", "-m", message)
        return self._git("rev-parse", "HEAD")

    def revision(self) -> str:
        return self._git("rev-parse", "HEAD")

    def expected(self, revision: str, kubeconfigs: dict[str, str]) -> dict[str, Expected]:
        """Every spoke's objects at `revision`, rendered as its agent renders them: charts with the capabilities of
        the spoke's own server (a chart may render more where the server serves more; offline, `razee render` takes
        the declared kube version's), each spoke read through its kubeconfig."""
        out: dict[str, Expected] = {}
        with fleet_tree(str(self.root), revision) as tree:
            for spoke, kubeconfig in kubeconfigs.items():
                kube = Kube(load_api_client(kubeconfig, None))
                try:
                    bundle = render_spoke(
                        tree,
                        spoke,
                        for_apply=False,
                        live=live_spoke(kube, kubeconfig),
                        sources=SourceOptions(self.root.parent / "soak-sources"),
                    )
                finally:
                    kube.close()
                out[spoke] = _expected(spoke, bundle.region, [m.obj for m in bundle.manifests])
        return out

    def spokes(self) -> dict[str, str]:
        """Spoke -> wave, as the working tree declares them."""
        waves: dict[str, str] = {}
        for region in sorted((self.root / "environments" / "regions").glob("*.yaml")):
            for spoke in yaml.safe_load(region.read_text()).get("spokes") or []:
                waves[spoke["name"]] = spoke["wave"]
        return waves


def _expected(spoke: str, region: str, objects: list[dict[str, Any]]) -> Expected:
    exp = Expected(spoke, region)
    for obj in objects:
        key = key_of(obj)
        exp.objects[key] = str(obj["apiVersion"])
        if key.group == "" and key.kind == "ConfigMap":
            exp.configmaps[key] = {k: str(v) for k, v in (obj.get("data") or {}).items()}
    return exp
