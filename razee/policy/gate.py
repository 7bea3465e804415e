"""Running the rules over a render: all or nothing, every violation named with rule, object, file, line, field.

Shipped rules (razee/policy/rules.py) and the fleet's own CEL rules (`policies.custom`) report alike and are
configured alike under `policies.rules.<name>` (enabled, exempt, options).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from razee.errors import EXIT_USER_ERROR, Finding, InputError, Location
from razee.fleet.fleet import Fleet
from razee.fleet.loader import FLEET_FILE
from razee.fleet.model import RuleSettings
from razee.objects import SpokeRender
from razee.policy import isolate
from razee.policy.base import OptionsError, RuleContext, Violation, exempt
from razee.policy.custom import CompiledRule, compile_rule, evaluate
from razee.policy.rules import RULES


class PolicyViolation(InputError):
    """A rendered revision breaks a policy; nothing of it may be applied."""

    exit_code = EXIT_USER_ERROR


def _configuration_findings(fleet: Fleet) -> list[Finding]:
    policies = fleet.spec.policies
    custom = [r.name for r in policies.custom]
    findings: list[Finding] = []
    for i, name in enumerate(custom):
        if name in RULES:
            findings.append(
                Finding(
                    Location(FLEET_FILE, None, f"policies.custom[{i}].name"),
                    f"custom rule {name!r} has the name of a shipped rule; choose another",
                )
            )
    unknown = sorted(set(policies.rules) - set(RULES) - set(custom))
    if unknown:
        findings.append(
            Finding(
                Location(FLEET_FILE, None, "policies.rules"),
                f"unknown policy rule(s) {', '.join(unknown)}; known: {', '.join(sorted(RULES))}"
                + (f"; custom: {', '.join(custom)}" if custom else ""),
            )
        )
    regions = {r.name for r in fleet.regions}
    for region in sorted(set(policies.pod_security.regions) - regions):
        findings.append(
            Finding(
                Location(FLEET_FILE, None, f"policies.podSecurity.regions.{region}"),
                f"unknown region {region!r}; the fleet has: {', '.join(sorted(regions))}",
            )
        )
    return findings


def _compiled(fleet: Fleet, findings: list[Finding]) -> list[CompiledRule]:
    configured = fleet.spec.policies.rules
    out: list[CompiledRule] = []
    for i, rule in enumerate(fleet.spec.policies.custom):
        if not configured.get(rule.name, RuleSettings()).enabled:
            continue
        try:
            out.append(compile_rule(rule))
        except Exception as e:  # checked at load time too; a library change must still not pass a rule silently
            findings.append(
                Finding(
                    Location(FLEET_FILE, None, f"policies.custom[{i}].expression"),
                    f"custom rule {rule.name!r}: expression does not compile: {e}",
                )
            )
    return out


def check_policies(fleet: Fleet, renders: Iterable[SpokeRender]) -> list[Finding]:
    findings = _configuration_findings(fleet)
    custom = _compiled(fleet, findings)
    if findings:
        return findings
    configured = fleet.spec.policies.rules
    seen: set[Finding] = set()

    def report(v: Violation) -> None:
        if not exempt(v.manifest, configured.get(v.rule, RuleSettings()).exempt):
            f = v.finding()
            if f not in seen:
                seen.add(f)
                findings.append(f)

    for render in renders:
        view = fleet.find_spoke(render.spoke)
        if view is None:
            continue
        spoke = {"name": view.spoke.name, "region": view.region.name, "wave": view.spoke.wave}
        inline = [r for r in custom if r.bounded]
        watched = [r for r in custom if not r.bounded]
        pending = isolate.start(watched, render.manifests, spoke) if watched and render.manifests else None
        try:
            shared: dict[str, Any] = {}
            for name, rule in RULES.items():
                settings = configured.get(name, RuleSettings())
                if not settings.enabled:
                    continue
                try:
                    for v in rule.check(RuleContext(fleet, view, render.manifests, settings, shared)):
                        report(v)
                except OptionsError as e:
                    return [Finding(Location(FLEET_FILE, None, f"policies.rules.{name}.options"), f"{name}: {e}")]
            results = [
                (inline, evaluate(inline, render.manifests, spoke) if inline else []),
                (watched, pending.outcomes() if pending else []),
            ]
            for rules, outcomes in results:
                for outcome in outcomes:
                    own = rules[outcome.rule].rule
                    message = (
                        own.message
                        if outcome.error is None
                        else (f"custom rule could not be evaluated: {outcome.error}")
                    )
                    report(Violation(own.name, render.manifests[outcome.manifest], None, message))
        finally:
            if pending:
                pending.close()
    return findings


def enforce_policies(fleet: Fleet, renders: Iterable[SpokeRender]) -> None:
    findings = check_policies(fleet, renders)
    if findings:
        raise PolicyViolation(findings, f"policy gate: {len(findings)} violation(s); nothing is applied")
