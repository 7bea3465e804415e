"""Evaluating a wave's metric checks against the spoke's Prometheus while the wave bakes (docs/rollout.md).

Each check is a PromQL instant query (`/api/v1/query`) with a threshold. A query that returns nothing fails unless
the check says `missing: pass`; a Prometheus that cannot be reached, or answers with an error, gives no result:
that is never a pass, so the spoke waits (and the wave's progress deadline turns a long wait into a failure). A
failed check stays failed for its revision: a canary that was bad for a minute was bad. Errors name the failure's
kind and Prometheus' own message, never the URL (it may carry credentials).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jinja2

from razee.fleet.checks import render_query
from razee.fleet.fleet import Fleet, SpokeView
from razee.fleet.model import Check, parse_duration

DEFAULT_PROMETHEUS = "http://prometheus.monitoring.svc:9090"
"""The in-cluster Prometheus a spoke's agent asks unless told otherwise (`--prometheus`, RAZEE_PROMETHEUS)."""
TIMEOUT = 10.0
MAX_ERROR = 300


@dataclass(frozen=True)
class CheckResult:
    check: str
    result: str  # pass | fail | unknown (no result: Prometheus unreachable or erring, or not evaluated yet)
    value: float | None
    threshold: str
    at: float
    error: str = ""

    def describe(self) -> str:
        shown = "no data" if self.value is None else f"{self.value:g}"
        return f"check {self.check} = {shown} ({self.threshold})" + (f": {self.error}" if self.error else "")

    def as_report(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "result": self.result,
            "value": self.value,
            "threshold": self.threshold,
            "at": self.at,
            "error": self.error[:MAX_ERROR],
        }


def threshold(check: Check) -> str:
    parts = ([f"min {check.min:g}"] if check.min is not None else []) + (
        [f"max {check.max:g}"] if check.max is not None else []
    )
    return ", ".join(parts)


def judge(check: Check, values: list[float]) -> CheckResult:
    """Every series must be within the threshold; the reported value is the worst one."""
    now = time.time()
    if not values:
        ok = check.missing == "pass"
        return CheckResult(
            check.name,
            "pass" if ok else "fail",
            None,
            threshold(check),
            now,
            "" if ok else "the query returned nothing",
        )
    bad = [
        v
        for v in values
        if math.isnan(v) or (check.max is not None and v > check.max) or (check.min is not None and v < check.min)
    ]
    if bad:
        return CheckResult(
            check.name,
            "fail",
            bad[0] if not math.isnan(bad[0]) else None,
            threshold(check),
            now,
            "NaN" if math.isnan(bad[0]) else "",
        )
    worst = max(values) if check.max is not None else min(values)
    return CheckResult(check.name, "pass", worst, threshold(check), now)


def _values(doc: Any) -> list[float]:
    data = doc.get("data") or {}
    kind, result = data.get("resultType"), data.get("result") or []
    if kind == "scalar":
        return [float(result[1])]
    if kind == "vector":
        return [float(s["value"][1]) for s in result]
    raise ValueError(f"the query returned a {kind}, not a scalar or an instant vector")


def query(http: httpx.Client, prometheus: str, promql: str) -> list[float]:
    """The query's sample values; httpx.HTTPError or ValueError (with Prometheus' message) when there are none."""
    r = http.get(prometheus.rstrip("/") + "/api/v1/query", params={"query": promql})
    try:
        doc = r.json()
    except ValueError:
        r.raise_for_status()
        raise
    if doc.get("status") != "success":
        raise ValueError(f"Prometheus: {doc.get('errorType', 'error')}: {doc.get('error', '')}"[:MAX_ERROR])
    return _values(doc)


def evaluate(http: httpx.Client, prometheus: str, check: Check, fleet: Fleet, view: SpokeView) -> CheckResult:
    try:
        promql = render_query(check, fleet, view)
        return judge(check, query(http, prometheus, promql))
    except httpx.HTTPError as e:
        why = f"Prometheus cannot be asked ({type(e).__name__})"
    except (ValueError, TypeError, KeyError, IndexError, jinja2.TemplateError) as e:
        why = str(e)[:MAX_ERROR] or type(e).__name__
    return CheckResult(check.name, "unknown", None, threshold(check), time.time(), why)


@dataclass
class RevisionChecks:
    """One revision's checks on this spoke: latest results, and when each is due again (monotonic)."""

    revision: str
    healthy_since: float | None = None
    results: dict[str, CheckResult] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(r.result == "fail" for r in self.results.values())


class CheckRunner:
    """Runs the checks of the revision a spoke enforces, each every `interval`, from healthy until baked."""

    def __init__(self, prometheus: str) -> None:
        self.prometheus = prometheus
        self.current: RevisionChecks | None = None

    def run(self, revision: str, fleet: Fleet, view: SpokeView, healthy: bool) -> list[CheckResult]:
        wave = next((w for w in fleet.spec.rollout.waves if w.name == view.spoke.wave), None)
        if wave is None or not wave.checks:
            return []
        if self.current is None or self.current.revision != revision:
            self.current = RevisionChecks(revision)
        state, now = self.current, time.monotonic()
        if not healthy and state.healthy_since is None:
            return [
                state.results.get(c.name)
                or CheckResult(
                    c.name, "unknown", None, threshold(c), time.time(), "waiting for the spoke's objects to be healthy"
                )
                for c in wave.checks
            ]
        if state.healthy_since is None:
            state.healthy_since = now
        baked = now - state.healthy_since >= parse_duration(wave.bake_time)
        due = [
            c
            for c in wave.checks
            if not state.failed
            and now >= state.due.get(c.name, 0.0)
            and not (baked and state.results.get(c.name, None) is not None and state.results[c.name].result == "pass")
        ]
        if due:
            with httpx.Client(timeout=TIMEOUT) as http:
                for c in due:
                    state.results[c.name] = evaluate(http, self.prometheus, c, fleet, view)
                    state.due[c.name] = now + parse_duration(c.interval)
        return [
            state.results.get(c.name)
            or CheckResult(c.name, "unknown", None, threshold(c), time.time(), "not evaluated yet")
            for c in wave.checks
        ]

    def next_due(self) -> float | None:
        """Monotonic time the next check is due while any runs (the loop wakes for it), else None."""
        state = self.current
        if state is None or state.failed or not state.due:
            return None
        return min(state.due.values())
