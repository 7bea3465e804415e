"""Running the official `helm template` for one release and reading its output back as objects with their files.

`helm template` is the reference the fidelity tests compare with, so razee runs it rather than re-implementing
Helm: what comes out is what Helm renders for the same chart, values, release, namespace and capabilities.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from razee.sources.expander import Capabilities
from razee.sources.helm.batch import run_batched
from razee.sources.helm.helmbin import helm_env, helm_path

RENDER_TIMEOUT_S = 300.0
"""One `helm template`: a chart renders in well under a second; a live `lookup` waits on the cluster."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: several times faster on large outputs

_SOURCE = re.compile(r"^# Source: (.+)$", re.M)


@dataclass(frozen=True)
class Release:
    """One rendering's inputs besides the chart itself."""

    name: str
    namespace: str
    values: tuple[dict[str, Any], ...]  # merged in order, later wins (valuesFiles, then spec.values)
    capabilities: Capabilities
    kubeconfig: Path | None = None  # set: `lookup` reads this cluster (helm's --dry-run=server, read only)


class HelmFailed(Exception):
    """helm refused to render: `message` is helm's own (with the chart's file:line where it gives one)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def helm_template(chart: Path, release: Release) -> list[tuple[dict[str, Any], str | None]]:
    """The release's objects, each with the chart file it came from (`# Source:`), in helm's order."""
    with tempfile.TemporaryDirectory(prefix="razee-helm-") as tmp:
        args = template_args(chart, release)
        for i, values in enumerate(release.values):
            path = Path(tmp) / f"values-{i}.json"  # JSON is YAML: no YAML dumper can reinterpret a string
            path.write_text(json.dumps(values))
            args += ["--values", str(path)]
        batched = run_batched(args[1:]) if release.kubeconfig is None else None
        if batched is not None:
            ok, stdout, stderr = batched
        else:
            env = helm_env(Path(tmp))
            if release.kubeconfig is not None:
                env["KUBECONFIG"] = str(release.kubeconfig)
            proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S)
            ok, stdout, stderr = proc.returncode == 0, proc.stdout, proc.stderr
    if not ok:
        lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("Use --debug")]
        raise HelmFailed("\n".join(lines).removeprefix("Error: "))
    return parse_output(stdout)


def template_args(chart: Path, release: Release) -> list[str]:
    """The command line, without values files: also what the fidelity tests run as the reference."""
    args = [
        helm_path(),
        "template",
        release.name,
        str(chart),
        "--namespace",
        release.namespace,
        "--include-crds",
        "--kube-version",
        release.capabilities.kube_version,
    ]
    if release.capabilities.api_versions:
        args += ["--api-versions", ",".join(release.capabilities.api_versions)]
    if release.kubeconfig is not None:
        # helm 4: a server dry run is what lets `lookup` read the cluster (read only: nothing is written, and the
        # capabilities are the server's own). --take-ownership skips Helm's release-ownership check, which would
        # refuse objects razee (not Helm) already manages.
        args += ["--dry-run=server", "--take-ownership"]
    return args


def parse_output(text: str) -> list[tuple[dict[str, Any], str | None]]:
    """Split helm's output on document markers; a document without its own `# Source:` line (a second CRD in one
    crds/ file: helm prints each file under one header) belongs to the file above it."""
    objects: list[tuple[dict[str, Any], str | None]] = []
    source: str | None = None
    for chunk in re.split(r"^---\s*$", text, flags=re.M):
        found = _SOURCE.search(chunk)
        source = found.group(1).strip() if found else source
        for obj in yaml.load_all(chunk, Loader=_LOADER):
            if isinstance(obj, dict) and obj:
                objects.append((obj, source))
    return objects
