"""A small chart at two versions, packaged and served as an HTTP chart repository on loopback, for the Helm
benchmarks (helm_fleet_preview.py, helm_apply.py). Not a benchmark itself.

The chart (`agent`: ServiceAccount, ConfigMap, Service, Deployment, a helper) is written to pass the example
fleet's policy gate (restricted Pod Security, resources, images from icr.io/armada). Version 1.1.0 differs from
1.0.0 as a real bump does: a new image tag (so every Deployment changes) and one more label on every object.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VERSIONS = ("1.0.0", "1.1.0")
KUBE_VERSION = "v1.36.3"

HELPERS = """\
{{- define "agent.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
{{- define "agent.labels" -}}
{{ include "agent.selector" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
agent.example.com/cluster: {{ .Values.clusterId | quote }}
{{- if .Values.tier }}
agent.example.com/tier: {{ .Values.tier | quote }}
{{- end }}
{{- end }}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {{- include "agent.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {{- include "agent.selector" . | nindent 6 }}
  template:
    metadata:
      labels: {{- include "agent.selector" . | nindent 8 }}
    spec:
      serviceAccountName: {{ .Release.Name }}
      securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: agent
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          args: ["--cluster={{ .Values.clusterId }}"]
          resources:
            requests: {cpu: 10m, memory: 16Mi}
            limits: {cpu: 100m, memory: 64Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
"""

OTHERS = {
    "templates/serviceaccount.yaml": (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}\n"
        '  labels: {{- include "agent.labels" . | nindent 4 }}\n'
    ),
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n"
        '  labels: {{- include "agent.labels" . | nindent 4 }}\n'
        "data:\n  cluster: {{ .Values.clusterId | quote }}\n"
        "  interval: {{ .Values.interval | quote }}\n"
    ),
    "templates/service.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n"
        '  labels: {{- include "agent.labels" . | nindent 4 }}\nspec:\n'
        '  selector: {{- include "agent.selector" . | nindent 4 }}\n'
        "  ports: [{name: https, port: 443, targetPort: 8443, protocol: TCP}]\n"
    ),
}


def chart_files(version: str) -> dict[str, str]:
    tag, tier = ("2.1", "") if version == VERSIONS[0] else ("2.2", "standard")
    return {
        "Chart.yaml": f"apiVersion: v2\nname: agent\nversion: {version}\nappVersion: '{tag}'\n",
        "values.yaml": (
            f"clusterId: none\nreplicas: 1\ninterval: 60s\ntier: '{tier}'\n"
            f"image: {{repository: icr.io/armada/agent, tag: '{tag}'}}\n"
        ),
        "templates/_helpers.tpl": HELPERS,
        "templates/deployment.yaml": DEPLOYMENT,
        **OTHERS,
    }


def write_chart(dest: Path, version: str) -> Path:
    for rel, text in chart_files(version).items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    return dest


def use_test_tools() -> None:
    """helm (and kubectl) of the pinned versions first on PATH (scripts/build-tools), for razee and the peer alike,
    and razee-helm-batch (scripts/helm-batch) named in $RAZEE_HELM_BATCH unless the caller set it."""
    path = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "testenv"), "path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    os.environ["PATH"] = f"{path}:{os.environ.get('PATH', '')}"
    if not os.environ.get("RAZEE_HELM_BATCH"):
        out = subprocess.run(
            ["bash", str(REPO / "scripts/helm-batch/build")], check=True, capture_output=True, text=True
        )
        os.environ["RAZEE_HELM_BATCH"] = out.stdout.strip().splitlines()[-1]


def helm(*args: str, home: Path) -> str:
    """The helm on PATH with its own HOME, caches and config (never the user's)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "c"),
        "HELM_CONFIG_HOME": str(home / "g"),
        "HELM_DATA_HOME": str(home / "d"),
    }
    kubeconfig = os.environ.get("BENCH_KUBECONFIG")
    if kubeconfig:
        env["KUBECONFIG"] = kubeconfig
    return subprocess.run(
        [shutil.which("helm") or "helm", *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class ChartRepo:
    """Both versions packaged (`helm package`), indexed (`helm repo index`) and served over HTTP on loopback."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.archives: dict[str, Path] = {}
        served = root / "served"
        served.mkdir(parents=True)
        for version in VERSIONS:
            src = write_chart(root / f"src-{version}" / "agent", version)
            helm("package", str(src), "--destination", str(served), home=root / "helmhome")
            self.archives[version] = served / f"agent-{version}.tgz"
        helm("repo", "index", str(served), "--url", self.url, home=root / "helmhome")
        handler = functools.partial(_Quiet, directory=str(served))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def digest(self, version: str) -> str:
        """What a HelmChart's spec.digest pins: the sha256 of the archive."""
        return "sha256:" + hashlib.sha256(self.archives[version].read_bytes()).hexdigest()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


class CpuMeter:
    """CPU seconds (user + system) this process and all its descendants use between start() and stop().

    The machines are shared: a wall time measured under a load average of 20 says little, CPU seconds say what the
    work costs. Descendants include forked render workers and the razee-helm-batch processes they start, which
    outlive no one's wait() (so resource.getrusage cannot see them): /proc is sampled every `interval` seconds and
    each process's last reading kept, so a process that ends between samples loses at most that much.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> CpuMeter:
        self._sample()
        self.base = dict(self.seen)
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return sum(v - self.base.get(pid, 0.0) for pid, v in self.seen.items())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
        mine = {os.getpid()}
        grew = True
        while grew:
            found = {pid for pid, parent in parents.items() if parent in mine} - mine
            grew = bool(found)
            mine |= found
        for pid in mine:
            self.seen[pid] = max(self.seen.get(pid, 0.0), cpu.get(pid, 0.0))
