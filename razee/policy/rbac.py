"""RBAC escalation paths: wildcards, escalate/bind/impersonate verbs, and admission webhooks.

Each is a way to gain more than a role appears to grant: `*` grows with every new resource, `escalate` and
`bind` lift the apiserver's own escalation check, `impersonate` borrows another identity, and a mutating or
validating webhook sees (and may rewrite) every object the cluster admits. They pass only where the fleet
names them: `options.allow` maps `Kind/name` or `Kind/namespace/name` globs to the findings allowed there.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from razee.objects import Manifest
from razee.policy.base import OptionsError, RuleContext, Violation

CATEGORIES = (
    "wildcard-verbs",
    "wildcard-resources",
    "wildcard-api-groups",
    "escalate",
    "bind",
    "impersonate",
    "webhook",
)
WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def allowances(options: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """`options.allow` checked: a mapping of object globs to lists of known categories; raises OptionsError."""
    raw = options.get("allow", {})
    if not isinstance(raw, dict):
        raise OptionsError("options.allow must map Kind/name globs to lists of: " + ", ".join(CATEGORIES))
    out: dict[str, frozenset[str]] = {}
    for ref, cats in raw.items():
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise OptionsError(f"options.allow[{ref!r}] must be a list of: {', '.join(CATEGORIES)}")
        unknown = sorted(set(cats) - set(CATEGORIES))
        if unknown:
            raise OptionsError(f"options.allow[{ref!r}]: unknown {', '.join(unknown)}; known: {', '.join(CATEGORIES)}")
        out[str(ref)] = frozenset(cats)
    return out


def _ref(m: Manifest) -> str:
    return f"{m.kind}/{m.namespace}/{m.name}" if m.namespace else f"{m.kind}/{m.name}"


def findings_of(m: Manifest) -> Iterator[tuple[str, str | None, str]]:
    """(category, field, message) for each escalation path the object opens."""
    if m.kind in WEBHOOK_KINDS and m.api_version.startswith("admissionregistration.k8s.io/"):
        yield "webhook", None, f"a {m.kind} sees every object the cluster admits"
        return
    if m.kind not in ("ClusterRole", "Role") or not m.api_version.startswith("rbac.authorization.k8s.io/"):
        return
    rules = m.obj.get("rules")
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue
        verbs = [str(v) for v in rule.get("verbs") or []]
        for field, category in (
            ("verbs", "wildcard-verbs"),
            ("resources", "wildcard-resources"),
            ("apiGroups", "wildcard-api-groups"),
        ):
            wild = [str(v) for v in rule.get(field) or [] if "*" in str(v)]
            if wild:
                yield category, f"rules[{i}].{field}", f"grants {field} {', '.join(wild)}"
        for verb in ("escalate", "bind", "impersonate"):
            if verb in verbs:
                yield verb, f"rules[{i}].verbs", f"grants the {verb} verb"


class RbacEscalation:
    name = "rbac-escalation"
    description = "no wildcard RBAC, no escalate/bind/impersonate verbs, no admission webhooks, unless allowed"

    def check(self, ctx: RuleContext) -> Iterator[Violation]:
        allow = allowances(ctx.options)
        for m in ctx.manifests:
            ref = None
            for category, field, message in findings_of(m):
                ref = ref or _ref(m)
                allowed = {c for pattern, cats in allow.items() if fnmatch.fnmatchcase(ref, pattern) for c in cats}
                if category not in allowed:
                    yield Violation(
                        self.name, m, field, f"{message}; allow it with options.allow {{{ref}: [{category}]}}"
                    )
