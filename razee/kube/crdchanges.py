"""A CRD change checked against the custom resources that will exist after the pass, before anything is written.

The server validates a custom resource only when it is written. A CRD update that adds a required field or a CEL
rule is accepted, and every custom resource that breaks it stays as it is until its next write fails; if the same
pass also changes one, the CRD is updated and the custom resource refused: a half-apply. So for every CRD the pass
creates or changes, each custom resource of its kind that will exist afterwards is checked against the new schema:
the fleet's (as the pass will write them) and the live ones razee manages that stay (no longer declared, kept).
A CRD change that would invalidate one is an input error on the CRD, naming the custom resource and the field.
"""

from __future__ import annotations

from typing import Any

from razee.kube.crdcel import unsupported_rules
from razee.kube.crdschema import check_custom_resource
from razee.kube.live import LiveState
from razee.kube.serverfields import drop_server_owned
from razee.plan.jsoncopy import copy_json
from razee.plan.model import Action, Change

CRD_GROUP = "apiextensions.k8s.io"
_STAYING = (Action.CREATE, Action.UPDATE, Action.UNCHANGED, Action.RECREATE, Action.KEEP)
MAX_NAMED = 5


def _changed_crds(changes: list[Change]) -> dict[tuple[str, str], Change]:
    out: dict[tuple[str, str], Change] = {}
    for c in changes:
        if (
            c.key.group == CRD_GROUP
            and c.key.kind == "CustomResourceDefinition"
            and c.desired is not None
            and c.action in (Action.CREATE, Action.UPDATE)
        ):
            spec = c.desired.get("spec") or {}
            names = spec.get("names") or {}
            out[(str(spec.get("group")), str(names.get("kind")))] = c
    return out


def _body_after(change: Change, live: LiveState) -> dict[str, Any] | None:
    """The custom resource as it will be after the pass (the fleet's, or the live copy that stays)."""
    if change.desired is not None:
        return change.desired
    current = live.objects.get(change.key)
    if current is None:
        return None
    body: dict[str, Any] = copy_json(current)
    drop_server_owned(body)
    return body


def check_crd_changes(changes: list[Change], live: LiveState, warnings: list[str]) -> None:
    """Make a changed CRD an error when a custom resource of its kind that stays would not pass its new schema."""
    crds = _changed_crds(changes)
    if not crds:
        return
    broken: dict[tuple[str, str], list[str]] = {}
    for change in changes:
        crd_change = crds.get((change.key.group, change.key.kind))
        if crd_change is None or change.action not in _STAYING or change.key in live.unknown:
            continue  # a custom resource of a CRD not served yet was checked as it was planned
        body = _body_after(change, live)
        problems = check_custom_resource(body, crd_change.desired or {}) if body is not None else []
        if not problems:
            continue
        where = f" [{change.source}]" if change.source else " (in the cluster; no longer in the fleet repo)"
        broken.setdefault((change.key.group, change.key.kind), []).append(
            f"{change.key.namespace + '/' if change.key.namespace else ''}{change.key.name}: "
            f"{'; '.join(problems)}{where}"
        )
        if change.desired is not None:
            change.action = Action.ERROR
            change.reason = (
                f"invalid under the schema of CRD {crd_change.key.name} as this pass changes it: " + "; ".join(problems)
            )
    for kinds, crd_change in crds.items():
        for rule in _rules_not_checked(crd_change):
            warnings.append(
                f"{crd_change.key}: not checked before the pass: CEL rule at {rule}; the server checks it "
                f"when each custom resource is written [{crd_change.source}]"
            )
        named = broken.get(kinds)
        if named:
            more = f"; and {len(named) - MAX_NAMED} more" if len(named) > MAX_NAMED else ""
            crd_change.action = Action.ERROR
            crd_change.reason = (
                f"this change would make {len(named)} custom resource(s) invalid; change them in "
                "the same commit, or let the new schema accept them: " + "; ".join(named[:MAX_NAMED]) + more
            )


def _rules_not_checked(crd_change: Change) -> list[str]:
    spec = (crd_change.desired or {}).get("spec") or {}
    out: list[str] = []
    for version in spec.get("versions") or []:
        schema = ((version or {}).get("schema") or {}).get("openAPIV3Schema") if isinstance(version, dict) else None
        out.extend(f"{version.get('name')}{rule}" for rule in unsupported_rules(schema))
    return out
