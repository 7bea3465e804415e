"""CPU and memory of the hub and the agents, from /proc, by phase (idle, rolling out, ...).

CPU is the process's user and system time plus that of its children it waited for (the agent's `git fetch`es), as
a share of one core over the phase's wall time: 1% means 10 ms of CPU per second. Memory is the resident set
(VmRSS). A restarted process is followed by name; the CPU between its last sample and its end is not counted.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PERIOD = 1.0


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(f) for f in fields[11:15]) / TICK  # utime, stime, cutime, cstime


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Usage:
    cpu: float = 0.0
    wall: float = 0.0
    rss: list[float] = field(default_factory=list)

    @property
    def percent(self) -> float | None:
        return 100.0 * self.cpu / self.wall if self.wall > 0 else None


class Sampler:
    """Samples every named process each PERIOD seconds into the current phase; `pids` says who runs now."""

    def __init__(self, pids: Callable[[], dict[str, int | None]]) -> None:
        self.pids = pids
        self.phase = "setup"
        self.usage: dict[str, dict[str, Usage]] = {}  # phase -> process -> usage
        self.marks: dict[str, dict[str, float]] = {}  # label -> process -> RSS MiB
        self.last: dict[str, tuple[int, float, float]] = {}  # process -> (pid, cpu s, monotonic)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="soak-sampler")
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(PERIOD):
            self.sample()

    def sample(self) -> None:
        with self.lock:
            now = time.monotonic()
            for name, pid in self.pids().items():
                if pid is None:
                    self.last.pop(name, None)
                    continue
                cpu, rss = cpu_seconds(pid), rss_mib(pid)
                if cpu is None:
                    continue
                before = self.last.get(name)
                usage = self.usage.setdefault(self.phase, {}).setdefault(name, Usage())
                if before is not None and before[0] == pid:
                    usage.cpu += cpu - before[1]
                    usage.wall += now - before[2]
                if rss is not None:
                    usage.rss.append(rss)
                self.last[name] = (pid, cpu, now)

    def enter(self, phase: str) -> None:
        """Samples from now on count for `phase` (the time since the last sample goes to the phase before)."""
        self.sample()
        with self.lock:
            self.phase = phase

    def mark(self, label: str) -> dict[str, float]:
        """Every process's RSS now, kept under `label` (the long form compares its start with its end)."""
        with self.lock:
            marks = {name: rss for name, pid in self.pids().items() if pid and (rss := rss_mib(pid)) is not None}
            self.marks[label] = marks
            return marks

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def summary(self) -> dict[str, dict[str, dict[str, float | None]]]:
        """phase -> process -> {cpuPercent, cpuSeconds, seconds, rssMaxMiB, rssLastMiB}."""
        with self.lock:
            return {
                phase: {
                    name: {
                        "cpuPercent": round(u.percent, 2) if u.percent is not None else None,
                        "cpuSeconds": round(u.cpu, 2),
                        "seconds": round(u.wall, 1),
                        "rssMaxMiB": round(max(u.rss), 1) if u.rss else None,
                        "rssLastMiB": round(u.rss[-1], 1) if u.rss else None,
                    }
                    for name, u in procs.items()
                }
                for phase, procs in self.usage.items()
            }
