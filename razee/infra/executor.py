"""Carrying out an infrastructure plan: waves in order, bounded concurrency, retries with backoff.

Within a wave, cluster-level changes (create, master upgrade, delete) run first, then worker changes in
parallel. Before the next wave starts, the workers the wave created or upgraded must be back to normal; if they
are not within the wave timeout the pass stops there, and the next pass plans the rest from what exists.
A `FatalProviderError` (credentials, permissions, invalid settings) is reported once and ends the pass: changes
not yet started are not tried, since each would fail the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from razee.backoff import INFRA, Backoff
from razee.infra.changes import InfraAction, InfraChange, InfraPlan
from razee.infra.model import WorkerState
from razee.infra.provider import FatalProviderError, Provider, ProviderError, TransientProviderError

_CLUSTER_LEVEL = (InfraAction.CREATE_CLUSTER, InfraAction.UPGRADE_MASTER, InfraAction.DELETE_CLUSTER)


@dataclass(frozen=True)
class ExecOptions:
    concurrency: int = 8
    attempts: int = 5
    backoff: Backoff = INFRA
    """The waits between retries of a transient error (razee/backoff.py)."""
    wave_timeout: float = 600.0
    poll: float = 0.5


@dataclass
class InfraResult:
    done: list[tuple[InfraChange, str]] = field(default_factory=list)
    failed: list[tuple[InfraChange, str]] = field(default_factory=list)
    stopped: str | None = None  # why later waves did not run in this pass
    retries: int = 0
    skipped: int = 0  # changes not tried after a fatal provider error

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None


def apply_infra(
    provider: Provider, plan: InfraPlan, options: ExecOptions | None = None, sleep: Callable[[float], None] = time.sleep
) -> InfraResult:
    opt = options or ExecOptions()
    result = InfraResult()
    lock = threading.Lock()
    fatal = threading.Event()

    def run(change: InfraChange) -> None:
        for attempt in range(1, opt.attempts + 1):
            if fatal.is_set():
                with lock:
                    result.skipped += 1
                return
            try:
                resource = provider.apply(change, plan.owner)
                with lock:
                    result.done.append((change, resource))
                return
            except TransientProviderError as e:
                if attempt == opt.attempts:
                    with lock:
                        result.failed.append((change, f"{e.message} (gave up after {attempt} attempts)"))
                    return
                with lock:
                    result.retries += 1
                sleep(opt.backoff.delay(attempt))
            except FatalProviderError as e:
                with lock:
                    if not fatal.is_set():  # the first one says it all; the others would repeat it
                        result.failed.append((change, e.message))
                    else:
                        result.skipped += 1
                    fatal.set()
                return
            except ProviderError as e:
                with lock:
                    result.failed.append((change, e.message))
                return

    with ThreadPoolExecutor(max_workers=opt.concurrency) as pool:
        result.stopped = _run_waves(lambda cs: list(pool.map(run, cs)), provider, plan, result, fatal, opt, sleep)
    return result


def _run_waves(
    run_all: Callable[[list[InfraChange]], object],
    provider: Provider,
    plan: InfraPlan,
    result: InfraResult,
    fatal: threading.Event,
    opt: ExecOptions,
    sleep: Callable[[float], None],
) -> str | None:
    """Each wave's cluster-level changes, then its pool changes (not for a cluster that failed); why it stopped."""
    waves = sorted({c.wave for c in plan.changes})
    for n, wave in enumerate(waves):
        batch = [c for c in plan.changes if c.wave == wave]
        run_all([c for c in batch if c.action in _CLUSTER_LEVEL])  # one per cluster
        failed_clusters = {c.cluster for c, _ in result.failed}
        run_all([c for c in batch if c.action not in _CLUSTER_LEVEL and c.cluster not in failed_clusters])
        if fatal.is_set():
            return (
                f"stopped at wave {wave} on a provider error that every request would meet; "
                f"{result.skipped} change(s) of this wave not tried"
            )
        if result.failed:
            return f"wave {wave} had failures; later waves wait for the next pass"
        if n + 1 < len(waves):
            waiting = _wait_normal(provider, plan, result, batch, opt, sleep)
            if waiting:
                return (
                    f"wave {wave}: {waiting} worker(s) not normal after {opt.wave_timeout:.0f}s; "
                    "the next pass continues"
                )
    return None


def _wait_normal(
    provider: Provider,
    plan: InfraPlan,
    result: InfraResult,
    batch: list[InfraChange],
    opt: ExecOptions,
    sleep: Callable[[float], None],
) -> int:
    """Wait until the workers this wave created or upgraded are normal; return how many are not."""
    ids = {
        resource
        for c, resource in result.done
        if c in batch and c.action in (InfraAction.CREATE_WORKER, InfraAction.UPGRADE_WORKER)
    }
    if not ids:
        return 0
    clusters = sorted({c.cluster for c in batch})
    deadline = time.monotonic() + opt.wave_timeout
    while True:
        states = {w.id: w.state for a in provider.observe(clusters, plan.owner) for w in a.workers}
        pending = [i for i in ids if states.get(i) != WorkerState.NORMAL]
        # a critical worker will not recover by waiting; the next pass replaces it
        critical = any(states.get(i) == WorkerState.CRITICAL for i in pending)
        if not pending or critical or time.monotonic() >= deadline:
            return len(pending)
        sleep(opt.poll)
