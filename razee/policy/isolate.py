"""Run the CEL rules of one render in a forked child that can be stopped.

The CEL library evaluates in native code and holds the GIL, so neither a signal nor a thread can interrupt a
runaway expression in-process. A forked child shares the rendered objects copy-on-write (nothing is serialised
on the way in), reports which evaluation it is on through shared memory, and is killed when one evaluation
outlives the wall-clock limit. While it works the parent runs the shipped rules, using the second core.
"""

from __future__ import annotations

import mmap
import os
import pickle
import resource
import select
import signal
import struct
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from razee.objects import Manifest
from razee.policy.custom import CompiledRule, Outcome, evaluate

WALL_LIMIT_S = 5.0
"""Wall-clock time one evaluation may take before the child is killed (the CPU limit normally comes first)."""
MEMORY_HEADROOM = 4 << 30
"""Address space the child may add to what it inherited, so an expression that builds huge lists fails alone."""

_PROGRESS = struct.Struct("qqd")  # rule index, manifest index, monotonic start


@dataclass
class Pending:
    """A child evaluating; `outcomes()` waits for it (or kills it) and returns what it found."""

    rules: Sequence[CompiledRule]
    pid: int = 0
    fd: int = -1
    shared: mmap.mmap | None = None
    done: list[Outcome] | None = None
    chunks: list[bytes] = field(default_factory=list)

    def outcomes(self) -> list[Outcome]:
        if self.done is not None:
            return self.done
        assert self.shared is not None
        try:
            while True:
                ready, _, _ = select.select([self.fd], [], [], 0.05)
                if ready:
                    chunk = os.read(self.fd, 1 << 20)
                    if not chunk:
                        break
                    self.chunks.append(chunk)
                    continue
                rule, manifest, started = _PROGRESS.unpack_from(self.shared)
                if rule >= 0 and time.monotonic() - started > WALL_LIMIT_S:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    self.pid = 0
                    self.done = [
                        Outcome(rule, manifest, f"the expression ran longer than {WALL_LIMIT_S:g} s and was stopped")
                    ]
                    return self.done
            _, status = os.waitpid(self.pid, 0)
            self.pid = 0
            payload = b"".join(self.chunks)
            if os.waitstatus_to_exitcode(status) == 0 and payload:
                result = pickle.loads(payload)
                if isinstance(result, list):
                    self.done = result
                    return result
            rule, manifest, _ = _PROGRESS.unpack_from(self.shared)
            why = _describe(status, payload)
            self.done = [Outcome(max(rule, 0), max(manifest, 0), f"the CEL evaluator failed ({why})")]
            return self.done
        finally:
            self.close()

    def close(self) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.shared is not None:
            self.shared.close()
            self.shared = None


def _describe(status: int, payload: bytes) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    if payload.startswith(b"error:"):
        return payload[6:500].decode(errors="replace")
    return f"exit status {code}"


def start(rules: Sequence[CompiledRule], manifests: Sequence[Manifest], spoke: dict[str, str]) -> Pending:
    """Fork a child evaluating `rules` on `manifests`; without fork (not POSIX), evaluate here, unbounded."""
    if not hasattr(os, "fork"):
        return Pending(rules, done=evaluate(rules, manifests, spoke))
    shared = mmap.mmap(-1, _PROGRESS.size)
    _PROGRESS.pack_into(shared, 0, -1, -1, 0.0)
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the child runs only CEL and os calls, no locks
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; coverage cannot see it
        _child(rules, manifests, spoke, shared, read_fd, write_fd)
    os.close(write_fd)
    return Pending(rules, pid, read_fd, shared)


def _child(
    rules: Sequence[CompiledRule],
    manifests: Sequence[Manifest],
    spoke: dict[str, str],
    shared: mmap.mmap,
    read_fd: int,
    write_fd: int,
) -> None:  # pragma: no cover - runs in the child
    code = 0
    try:
        os.close(read_fd)
        for signum in (signal.SIGINT, signal.SIGTERM):  # not the parent's handlers (the agent's, for one)
            signal.signal(signum, signal.SIG_DFL)
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        limit = pages * os.sysconf("SC_PAGE_SIZE") + MEMORY_HEADROOM
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

        def progress(rule: int, manifest: int) -> None:
            _PROGRESS.pack_into(shared, 0, rule, manifest, time.monotonic())

        payload = pickle.dumps(evaluate(rules, manifests, spoke, progress))
    except BaseException as e:
        payload, code = f"error:{type(e).__name__}: {e}".encode(), 1
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view) :]
    finally:
        os._exit(code)
