"""An EC2 emulator on loopback for the aws provider's tests: moto's server as a real process, and a small proxy in
front of it that counts requests by action and injects the failures AWS has and moto does not (throttling, 5xx,
answers lost after the request was carried out)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIARAZEETESTKEY0001",
    "AWS_SECRET_ACCESS_KEY": "razee-test-secret-0001",
    "AWS_DEFAULT_REGION": REGION,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoServer:
    """`moto_server` as its own process on 127.0.0.1; `reset()` empties it between tests."""

    def __init__(self, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("moto_server")
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"moto_server did not start; see {log}") from None
                time.sleep(0.2)

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=30)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@dataclass
class Fault:
    action: str
    status: int
    code: str
    times: int
    after: bool = False  # forward the request first, then answer with the error: the answer is lost
    message: str = "injected by the test proxy"


@dataclass
class Proxy:
    """A loopback HTTP proxy to moto: counts EC2 actions and injects faults."""

    upstream: str
    seen: Counter[str] = field(default_factory=Counter)
    faults: list[Fault] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: int = 0
    """The next this many DescribeInstances answers show running instances as pending, as AWS does for a while."""
    order: list[str] = field(default_factory=list)  # actions in the order they arrived, `+pending` when rewritten

    def start(self) -> str:
        proxy = self
        up = urllib.parse.urlparse(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = urllib.parse.parse_qs(body.decode()).get("Action", [""])[0]
                fault = proxy._take(action, body.decode())
                if fault is not None and not fault.after:
                    return self._error(fault)
                conn = http.client.HTTPConnection(up.hostname or "127.0.0.1", up.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request("POST", self.path, body, headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                if fault is not None:
                    return self._error(fault)
                if action == "DescribeInstances" and proxy._take_pending():
                    data = data.replace(b"<name>running</name>", b"<name>pending</name>")
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, fault: Fault) -> None:
                data = (
                    f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{fault.code}</Code>'
                    f"<Message>{fault.message}</Message></Error></Errors>"
                    f"<RequestID>test</RequestID></Response>"
                ).encode()
                self.send_response(fault.status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _take_pending(self) -> bool:
        with self.lock:
            if self.pending <= 0:
                return False
            self.pending -= 1
            self.order.append("DescribeInstances+pending")
            return True

    def _take(self, action: str, body: str) -> Fault | None:
        with self.lock:
            self.seen[action] += 1
            self.bodies.append(body)
            self.order.append(action)
            for fault in self.faults:
                if fault.action == action and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ec2(url: str) -> Any:
    return boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def live_instances(client: Any, fleet: str = "test-fleet") -> list[dict[str, Any]]:
    pages = client.get_paginator("describe_instances").paginate(
        Filters=[
            {"Name": "tag:razee:fleet", "Values": [fleet]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ]
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def tags(instance: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}


def worker_counts(client: Any) -> Counter[tuple[str, str, str]]:
    return Counter(
        (tags(i)["razee:cluster"], tags(i)["razee:pool"], tags(i)["razee:zone"]) for i in live_instances(client)
    )
