"""Running the rules over a render: all or nothing, every violation named with rule, object, file, line, field."""

from __future__ import annotations

from collections.abc import Iterable

from razee.errors import EXIT_USER_ERROR, Finding, InputError, Location
from razee.fleet.fleet import Fleet
from razee.fleet.loader import FLEET_FILE
from razee.fleet.model import RuleSettings
from razee.policy.base import RuleContext, exempt
from razee.policy.rules import RULES
from razee.render.renderer import SpokeRender


class PolicyViolation(InputError):
    """A rendered revision breaks a policy; nothing of it may be applied."""

    exit_code = EXIT_USER_ERROR


def check_policies(fleet: Fleet, renders: Iterable[SpokeRender]) -> list[Finding]:
    configured = fleet.spec.policies.rules
    unknown = sorted(set(configured) - set(RULES))
    if unknown:
        return [Finding(Location(FLEET_FILE, None, "policies.rules"),
                        f"unknown policy rule(s) {', '.join(unknown)}; known: {', '.join(sorted(RULES))}")]
    findings: list[Finding] = []
    for render in renders:
        view = fleet.find_spoke(render.spoke)
        if view is None:
            continue
        for name, rule in RULES.items():
            settings = configured.get(name, RuleSettings())
            if not settings.enabled:
                continue
            ctx = RuleContext(fleet, view, render.manifests, settings)
            for v in rule.check(ctx):
                if not exempt(v.manifest, settings.exempt):
                    f = v.finding()
                    if f not in findings:
                        findings.append(f)
    return findings


def enforce_policies(fleet: Fleet, renders: Iterable[SpokeRender]) -> None:
    findings = check_policies(fleet, renders)
    if findings:
        raise PolicyViolation(findings, f"policy gate: {len(findings)} violation(s); nothing is applied")
