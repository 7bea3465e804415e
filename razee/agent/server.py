"""/healthz and /metrics on a small threaded HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from razee.agent.metrics import AgentMetrics


def serve(listen: str, metrics: AgentMetrics, healthy: Callable[[], tuple[bool, str]]) -> ThreadingHTTPServer:
    host, _, port = listen.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, ctype, code = generate_latest(metrics.registry), CONTENT_TYPE_LATEST, 200
            elif self.path == "/healthz":
                ok, why = healthy()
                body, ctype, code = why.encode() + b"\n", "text/plain", 200 if ok else 503
            else:
                body, ctype, code = b"not found\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # scrapes every few seconds would drown the agent's own log

    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
    threading.Thread(target=server.serve_forever, name="razee-http", daemon=True).start()
    return server


def liveness(last_loop: Callable[[], float], interval: float) -> Callable[[], tuple[bool, str]]:
    """Healthy while the loop turns: a loop stuck for three intervals is reported unhealthy."""

    def check() -> tuple[bool, str]:
        age = time.monotonic() - last_loop()
        return (age < 3 * interval + 30, f"last loop {age:.0f}s ago")

    return check
