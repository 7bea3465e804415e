"""What the Pod Security Standards' controls check: every pod template of a render, with the level it is held to.

The controls themselves are in razee/policy/pss_baseline.py and pss_restricted.py; this module finds the pods once
per render (shared by all fifteen controls) and gives each control its common shape (`Control`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from razee.fleet.model import PodSecurity
from razee.objects import Manifest
from razee.policy.base import POD_SPEC_PATHS, RuleContext, Violation, pod_metadata, pod_templates

LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}


def as_dict(value: Any) -> dict[str, Any]:
    """A field that should be a mapping, or {} when it is missing or malformed (the render is not trusted)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """A field that should be a list, or [] when it is missing or malformed."""
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Pod:
    """One pod template as the controls see it, with the field paths used in findings."""

    manifest: Manifest
    level: int
    base: str  # path of the pod spec, e.g. spec.template.spec
    spec: dict[str, Any]
    meta_path: str
    meta: dict[str, Any]
    security: dict[str, Any]
    windows: bool  # the restricted level exempts Windows pods from its Linux-only controls
    all_containers: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...]

    def containers(self) -> tuple[tuple[str, dict[str, Any], dict[str, Any]], ...]:
        """(path, container, its securityContext) for every container, init and ephemeral container."""
        return self.all_containers


def effective_level(settings: PodSecurity, region: str, namespace: str) -> str:
    return settings.level_for(region, namespace)


def pods(ctx: RuleContext) -> list[Pod]:
    """Every pod template of the render with its level; computed once per render and shared by the controls."""
    cached = ctx.shared.get("pss-pods")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    settings = ctx.fleet.spec.policies.pod_security
    region = ctx.view.region.name
    levels: dict[str, int] = {}
    out: list[Pod] = []
    for t in pod_templates(ctx):
        m = t.manifest
        ns = m.namespace
        level = levels.get(ns)
        if level is None:
            level = levels[ns] = LEVELS[effective_level(settings, region, ns)]
        if level == 0:
            continue
        meta_path = ".".join((*POD_SPEC_PATHS[m.kind][:-1], "metadata"))
        out.append(
            Pod(
                m,
                level,
                t.base,
                t.spec,
                meta_path,
                pod_metadata(m),
                as_dict(t.spec.get("securityContext")),
                as_dict(t.spec.get("os")).get("name") == "windows",
                tuple((path, c, as_dict(c.get("securityContext"))) for path, c in t.containers),
            )
        )
    ctx.shared["pss-pods"] = out
    return out


class Control:
    """A PSS control: `level` is the lowest level that enforces it. Subclasses yield violations for one pod."""

    name: str
    description: str
    level: int = LEVELS["baseline"]

    def check(self, ctx: RuleContext) -> Iterator[Violation]:
        for pod in pods(ctx):
            if pod.level >= self.level:
                yield from self.check_pod(pod)

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        raise NotImplementedError

    def violation(self, pod: Pod, field: str, message: str) -> Violation:
        return Violation(self.name, pod.manifest, field, message)
