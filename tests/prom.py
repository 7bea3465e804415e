"""Real Prometheus for rollout-check tests: Debian's `prometheus` binary on loopback scraping an exporter the test
controls (prometheus-client's own HTTP server with a gauge per spoke). A test aid, never product code."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, Gauge, start_http_server

SCRAPE = "1s"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Exporter:
    """`http_error_ratio{spoke=...}`, set by the test, served on a loopback port."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.errors = Gauge(
            "http_error_ratio", "share of requests that failed (set by the test)", ["spoke"], registry=self.registry
        )
        self.port = free_port()
        self.server, self.thread = start_http_server(self.port, addr="127.0.0.1", registry=self.registry)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PrometheusServer:
    def __init__(self, targets: list[str], timeout: float = 120.0) -> None:
        binary = shutil.which("prometheus")
        assert binary, "Debian's prometheus is not installed (scripts/setup installs it)"
        self.dir = Path(tempfile.mkdtemp(prefix="razee-prom-"))
        config = self.dir / "prometheus.yml"
        listed = ", ".join(f"'{t}'" for t in targets)
        config.write_text(
            f"global: {{scrape_interval: {SCRAPE}, evaluation_interval: {SCRAPE}}}\n"
            f"scrape_configs:\n  - job_name: test\n    static_configs:\n      - targets: [{listed}]\n"
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(self.dir / "prometheus.log", "wb")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, (self.dir / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "prometheus did not become ready"
            time.sleep(0.2)

    def value(self, query: str) -> list[float]:
        doc = httpx.get(self.url + "/api/v1/query", params={"query": query}, timeout=5).json()
        return [float(s["value"][1]) for s in doc["data"]["result"]]

    def wait_for(self, query: str, expected: float, timeout: float = 60.0) -> None:
        """Until Prometheus has scraped the exporter's new value (the scrape interval is 1 s)."""
        deadline = time.monotonic() + timeout
        while self.value(query) != [expected]:
            assert time.monotonic() < deadline, f"{query} never became {expected}: {self.value(query)}"
            time.sleep(0.3)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
