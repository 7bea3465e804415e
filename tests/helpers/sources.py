"""Fleet repos that declare sources, and a chart repository the tests can take down and bring back.

The chart is the example fleet's own (charts/armada-metrics), so what the tests apply is what the example fleet
ships; served by `helm package` + `helm repo index` behind http.server on loopback, like tests/helpers/charts.py.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO
from tests.fleetrepo import fleet_copy, region_copy, write_repo
from tests.helpers.charts import free_port, package, run_helm

CHART = REPO / "charts" / "armada-metrics"
IMAGE = "icr.io/armada/metrics-server"
"""An image the small test fleet's allowed registries (icr.io/*) admit."""


def one_spoke_repo(
    root: Path, templates: dict[str, str], with_chart: bool = True, fleet: dict[str, Any] | None = None
) -> Path:
    """A fleet with one spoke (spoke-a) and no customer clusters, these templates and (optionally) charts/."""
    region = region_copy()
    region["spokes"] = [{"name": "spoke-a", "wave": "main"}]
    region["clusters"] = []
    write_repo(root, fleet=fleet or fleet_copy(), regions=[region], templates=templates)
    if with_chart and not (root / "charts" / CHART.name).exists():
        shutil.copytree(CHART, root / "charts" / CHART.name)
    return root


def namespace_template(name: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n"


def helm_chart(name: str, namespace: str, spec: dict[str, Any]) -> str:
    """A HelmChart declaration as a template writes it."""
    doc = {
        "apiVersion": "razee.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    return yaml.safe_dump(doc, sort_keys=False)


class ChartServer:
    """charts/armada-metrics at 0.1.0 and 0.2.0 in an HTTP chart repository on a loopback port; `down()` stops
    answering (connection refused), `up()` serves again on the same port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: http.server.ThreadingHTTPServer | None = None
        self.requests: list[str] = []  # paths asked for, in order (how often a pass reads the repository)
        for version in ("0.1.0", "0.2.0"):
            package(CHART, root, version=version)
        run_helm("repo", "index", str(root), "--url", self.url, home=root / ".helmhome")

    def up(self) -> None:
        handler = functools.partial(_Quiet, directory=str(self.root), seen=self.requests)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, seen: list[str], **kwargs: Any) -> None:
        self.seen = seen  # set before the base class handles the request (its __init__ does)
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.seen.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def chart_server() -> Iterator[ChartServer]:
    with tempfile.TemporaryDirectory(prefix="razee-metrics-repo-") as tmp:
        server = ChartServer(Path(tmp))
        server.up()
        try:
            yield server
        finally:
            server.down()
