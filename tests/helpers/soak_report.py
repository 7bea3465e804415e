"""The soak's figures: a JSON summary and a table for people, and the long form's memory verdict."""

from __future__ import annotations

import os
import statistics
from typing import Any

from tests.helpers.soak_run import Soak

GROWTH_MIB = 25.0
GROWTH_SHARE = 0.2
"""RSS growth over the long form's cycles that counts as growth: more than both 25 MiB and 20% of the start (Python's
allocator keeps freed arenas, so a few MiB up or down between two samples is noise)."""


def memory_growth(soak: Soak) -> list[str]:
    start, end = soak.sampler.marks.get("cycles start"), soak.sampler.marks.get("cycles end")
    if not start or not end:
        return []
    return [
        f"{name}: RSS grew from {start[name]:.0f} to {end[name]:.0f} MiB over the cycles"
        for name in sorted(set(start) & set(end))
        if end[name] - start[name] > max(GROWTH_MIB, GROWTH_SHARE * start[name])
    ]


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "max": None, "min": None}
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2), "min": round(min(values), 2)}


def _cpu(usage: dict[str, dict[str, Any]]) -> dict[str, Any]:
    agents = [u["cpuPercent"] for n, u in usage.items() if n.startswith("agent ") and u["cpuPercent"] is not None]
    rss = [u["rssMaxMiB"] for n, u in usage.items() if n.startswith("agent ") and u["rssMaxMiB"] is not None]
    hub = usage.get("hub", {})
    return {
        "hubCpuPercent": hub.get("cpuPercent"),
        "hubRssMaxMiB": hub.get("rssMaxMiB"),
        "agentCpuPercent": _spread(agents),
        "agentRssMaxMiB": _spread(rss),
        "seconds": max((u["seconds"] for u in usage.values()), default=0),
    }


def summary(soak: Soak, steps: list[str], seconds: float, failure: str, problems: list[str]) -> dict[str, Any]:
    commits = [
        {
            "step": c.step,
            "revision": c.revision,
            "marker": c.marker,
            "expect": c.expect,
            "outcome": c.outcome,
            "seconds": c.converged_s,
        }
        for c in soak.commits
    ]
    converged = [c.converged_s for c in soak.commits[1:] if c.outcome == "applied" and c.converged_s is not None]
    usage = soak.sampler.summary()
    start, end = soak.sampler.marks.get("cycles start", {}), soak.sampler.marks.get("cycles end", {})
    return {
        "ok": not failure and not problems,
        "failure": failure,
        "problems": problems,
        "spokes": len(soak.spokes),
        "steps": steps,
        "seconds": round(seconds, 1),
        "machine": {"cores": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()]},
        "settings": {
            "bake": soak.opts.bake,
            "agentInterval": soak.opts.agent_interval,
            "agentPoll": soak.opts.agent_poll,
            "hubPoll": soak.opts.hub_poll,
            "idleSeconds": soak.opts.idle_seconds,
            "minutes": soak.opts.minutes,
        },
        "firstRolloutSeconds": soak.commits[0].converged_s if soak.commits else None,
        "convergedSeconds": _spread(converged),
        "commits": commits,
        "idle": _cpu(usage.get("idle", {})),
        "rollout": _cpu(usage.get("rollout", {})),
        "processes": usage,
        "memory": {
            name: {"startMiB": round(start[name], 1), "endMiB": round(end[name], 1)}
            for name in sorted(set(start) & set(end))
        },
        "reports": soak.reports,
        "events": soak.events,
    }


def _pct(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}%"


def _mib(v: Any) -> str:
    return "-" if v is None else f"{v:.0f} MiB"


def table(doc: dict[str, Any]) -> str:
    """The summary for people: commits with their fate and time, then CPU and memory by phase, then reports."""
    lines = [
        f"\nsoak: {doc['spokes']} spokes, {len(doc['commits'])} commits, {doc['seconds']:.0f}s; "
        f"{'OK' if doc['ok'] else 'FAILED'}",
        "",
        f"{'step':<14}{'revision':<14}{'marker':>7}  {'expected':<12}{'outcome':<13}{'seconds':>8}",
    ]
    for c in doc["commits"]:
        secs = "-" if c["seconds"] is None else f"{c['seconds']:.1f}"
        lines.append(
            f"{c['step']:<14}{c['revision'][:12]:<14}{c['marker']:>7}  {c['expect']:<12}"
            f"{c['outcome'] or '-':<13}{secs:>8}"
        )
    conv = doc["convergedSeconds"]
    lines += [
        "",
        f"commit to all {doc['spokes']} spokes converged (after the first rollout): median "
        f"{conv['median']}s, max {conv['max']}s, min {conv['min']}s; first rollout {doc['firstRolloutSeconds']}s",
        "",
        f"{'phase':<10}{'hub CPU':>10}{'hub RSS':>10}{'agent CPU median':>18}{'agent CPU max':>15}"
        f"{'agent RSS max':>15}{'seconds':>9}",
    ]
    for phase in ("idle", "rollout"):
        u = doc[phase]
        lines.append(
            f"{phase:<10}{_pct(u['hubCpuPercent']):>10}{_mib(u['hubRssMaxMiB']):>10}"
            f"{_pct(u['agentCpuPercent']['median']):>18}{_pct(u['agentCpuPercent']['max']):>15}"
            f"{_mib(u['agentRssMaxMiB']['max']):>15}{u['seconds']:>9.0f}"
        )
    if doc["memory"]:
        lines += ["", "RSS over the cycles (MiB, start -> end):"]
        lines += [f"  {n:<28}{m['startMiB']:>8.1f} -> {m['endMiB']:.1f}" for n, m in doc["memory"].items()]
    total = (doc["reports"] or {}).get("total")
    if total:
        lines += [
            "",
            f"reports: {total['put']} written by the agents, {total['delivered']} delivered, "
            f"{total['stored']} stored by the hub, {total['pending']} pending, {total['refusedByHub']} refused",
        ]
    for p in doc["problems"]:
        lines.append(f"PROBLEM: {p}")
    if doc["failure"]:
        lines.append(f"FAILED: {doc['failure']}")
    return "\n".join(lines)
