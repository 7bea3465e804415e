"""Rendering many releases without a process start each: razee-helm-batch (scripts/helm-batch) runs helm's own
command code in one long-lived process, so its output is byte for byte `helm template`'s (the fidelity tests run
both), at a few milliseconds a release instead of helm's ~60 ms start-up.

Used for offline renders when the binary is found (`$RAZEE_HELM_BATCH`, else `razee-helm-batch` on PATH);
`RAZEE_HELM_BATCH=off`, or no binary, means one `helm template` process per release. Live `lookup` renders always
use the helm binary. A pool of one process per core serves the expansion step's threads.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO

from razee.sources.helm.helmbin import helm_env

BATCH_ENV = "RAZEE_HELM_BATCH"
"""Path of razee-helm-batch, or "off" to render with one helm process per release."""


class _Worker:
    def __init__(self, binary: str) -> None:
        self.home = tempfile.mkdtemp(prefix="razee-helm-batch-")
        self.proc = subprocess.Popen(
            [binary],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=helm_env(Path(self.home)),
            text=True,
        )

    def run(self, args: list[str]) -> tuple[bool, str, str]:
        stdin: IO[str] = self.proc.stdin  # type: ignore[assignment]
        stdout: IO[str] = self.proc.stdout  # type: ignore[assignment]
        stdin.write(json.dumps({"args": args}) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise OSError("razee-helm-batch exited")
        answer = json.loads(line)
        return bool(answer["ok"]), str(answer["stdout"]), str(answer["stderr"])

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)


class _Pool:
    def __init__(self, binary: str, size: int) -> None:
        self.binary = binary
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.all: list[_Worker] = []
        self.size = size
        self.lock = threading.Lock()

    def run(self, args: list[str]) -> tuple[bool, str, str]:
        with self.lock:
            if self.idle.empty() and len(self.all) < self.size:
                worker = _Worker(self.binary)
                self.all.append(worker)
                self.idle.put(worker)
        worker = self.idle.get()
        try:
            result = worker.run(args)
        except (OSError, ValueError):
            with self.lock:
                self.all.remove(worker)
            worker.close()
            raise
        self.idle.put(worker)
        return result

    def close(self) -> None:
        for worker in self.all:
            worker.close()
        self.all.clear()


_pools: dict[str, _Pool] = {}
_pools_lock = threading.Lock()


def batch_binary() -> str | None:
    named = os.environ.get(BATCH_ENV)
    if named == "off":
        return None
    return named or shutil.which("razee-helm-batch")


def run_batched(args: list[str]) -> tuple[bool, str, str] | None:
    """(ok, stdout, stderr) of `helm ARGS` (args without the binary), or None when no batch binary is available or
    it failed (the caller then runs helm itself)."""
    binary = batch_binary()
    if binary is None:
        return None
    with _pools_lock:
        pool = _pools.get(binary)
        if pool is None:
            pool = _pools[binary] = _Pool(binary, os.cpu_count() or 1)
    try:
        return pool.run(args)
    except (OSError, ValueError):
        return None


@atexit.register
def _close_pools() -> None:
    for pool in _pools.values():
        pool.close()
