"""Rollout checks' queries: Jinja with the spoke's context, rendered for each spoke that evaluates them.

The context is a template's spoke-level one (`fleet`, `region`, `spoke`, `values`), in a sandbox with
StrictUndefined, so `{{ spoke.nmae }}` is an error at `razee validate` (file and line), never an empty label that
silently matches every series. Rendering each spoke's queries at load is what proves every referenced value exists
for every spoke of the wave.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from razee.errors import Finding, Location
from razee.fleet.fleet import Fleet, SpokeView
from razee.fleet.model import Check
from razee.fleet.promql import balance_problem


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=512)
def _compiled(query: str) -> jinja2.Template:
    return _env().from_string(query)


def query_context(fleet: Fleet, view: SpokeView) -> dict[str, Any]:
    return {"fleet": fleet.spec, "region": view.region, "spoke": view.spoke, "values": fleet.spoke_values(view)}


def render_query(check: Check, fleet: Fleet, view: SpokeView) -> str:
    """The PromQL this spoke sends; jinja2.TemplateError (or ValueError for unbalanced output) when it cannot."""
    text = _compiled(check.query).render(query_context(fleet, view)).strip()
    problem = balance_problem(text)
    if problem:
        raise ValueError(f"the rendered query is not valid PromQL: {problem}")
    return text


def _checks(fleet: Fleet) -> Iterator[tuple[int, int, Check]]:
    for i, wave in enumerate(fleet.spec.rollout.waves):
        for j, check in enumerate(wave.checks):
            yield i, j, check


def query_findings(fleet: Fleet, file: str, line_of: Any) -> list[Finding]:
    """Every check query that does not compile, or does not render for a spoke of its wave (one finding each)."""
    findings: list[Finding] = []
    for i, j, check in _checks(fleet):
        path = ("rollout", "waves", i, "checks", j, "query")
        where = Location(file, line_of(path), f"rollout.waves[{i}].checks[{j}].query")
        try:
            _compiled(check.query)
        except jinja2.TemplateSyntaxError as e:
            findings.append(Finding(where, f"check {check.name!r}: Jinja syntax error: {e.message}"))
            continue
        wave = fleet.spec.rollout.waves[i].name
        for view in fleet.spokes():
            if view.spoke.wave != wave:
                continue
            try:
                render_query(check, fleet, view)
            except (jinja2.TemplateError, ValueError) as e:
                findings.append(
                    Finding(
                        where, f"check {check.name!r} for spoke {view.spoke.name}: {getattr(e, 'message', None) or e}"
                    )
                )
                break  # one spoke is enough to show the mistake
    return findings
