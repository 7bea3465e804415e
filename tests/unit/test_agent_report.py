"""The agent's report: every plan action maps to a status (missing objects are drift), and a report is trimmed to
what the hub accepts, so it is never refused for its size."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from razee.agent.report import PassReport, describe_objects
from razee.hub.model import ReportIn
from razee.kube.applier import ApplyResult
from razee.objects import ObjectKey
from razee.plan.model import Action, Change
from razee.reconcile import Pass
from razee.wire import PassOutcome


def key(name: str) -> ObjectKey:
    return ObjectKey("apps", "Deployment", "armada", name)


def run_of(changes: list[Change]) -> Pass:
    return cast(Pass, SimpleNamespace(kube=SimpleNamespace(plan=SimpleNamespace(changes=changes))))


def statuses(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {o["name"]: o["status"] for o in objects}


def test_every_action_has_a_status_and_a_missing_object_is_drift() -> None:
    changes = [
        Change(key("gone"), Action.CREATE, "missing", missing=True),
        Change(key("new"), Action.CREATE, "not in the cluster"),
        Change(key("edited"), Action.UPDATE, "drift", drift=["/spec/replicas"]),
        Change(key("immutable"), Action.RECREATE, "selector changed"),
        Change(key("leaving"), Action.TERMINATING, "being deleted"),
        Change(
            key("taken"),
            Action.UPDATE,
            "drift",
            drift=["/spec/replicas"],
            takeovers=[{"path": "/spec/replicas", "manager": "kubectl-edit"}] * 30,
        ),
    ]
    drift = statuses(describe_objects(run_of(changes), None, drift_only=True))
    assert drift == {
        "gone": "missing",
        "new": "pending",
        "edited": "drifted",
        "immutable": "pending",
        "leaving": "terminating",
        "taken": "drifted",
    }
    done = ApplyResult(applied=[c.key for c in changes if c.action != Action.TERMINATING])
    objects = describe_objects(run_of(changes), done, drift_only=False)
    assert statuses(objects) == {
        "gone": "drifted-healed",
        "new": "created",
        "edited": "drifted-healed",
        "immutable": "recreated",
        "leaving": "terminating",
        "taken": "drifted-healed",
    }
    taken = next(o for o in objects if o["name"] == "taken")
    assert len(taken["takeovers"]) == 20 and taken["takeovers"][0] == {
        "path": "/spec/replicas",
        "manager": "kubectl-edit",
    }


def test_an_object_adopted_from_a_helm_release_says_so_in_the_report() -> None:
    reason = (
        "adopted from Helm release apps/web: razee takes its fields over in place (same object, never deleted "
        "and re-created); the release's record (Secrets sh.helm.release.v1.web.v*) is left alone"
    )
    changes = [Change(key("web"), Action.UPDATE, reason), Change(key("mine"), Action.UPDATE, "changed in the repo")]
    objects = describe_objects(run_of(changes), ApplyResult(applied=[c.key for c in changes]), drift_only=False)
    by_name = {o["name"]: o for o in objects}
    assert by_name["web"]["status"] == "updated" and by_name["web"]["message"].startswith("adopted from Helm release")
    assert "message" not in by_name["mine"]


def test_a_report_is_trimmed_to_what_the_hub_accepts() -> None:
    huge = Change(key("huge"), Action.UPDATE, "drift", drift=[f"/data/{'k' * 2000}{i}" for i in range(500)])
    outcome = PassReport(
        PassOutcome.DRIFTED,
        "spoke-a",
        "us-south",
        "agent-0",
        source={"revision": "r" * 40},
        objects=describe_objects(run_of([huge]), None, drift_only=True),
        unhealthy=[{"object": "x", "status": "degraded", "reason": "r" * 10_000}] * 500,
        findings=["f" * 10_000] * 500,
        error="e" * 100_000,
        durations={"total": 1.5},
    )
    body = outcome.to_report()
    parsed = ReportIn.model_validate(body)  # the hub's own schema
    assert len(parsed.objects[0].paths) == 100 and len(parsed.error or "") == 4000
    assert len(parsed.unhealthy) == 100 and len(parsed.findings) == 200


def test_control_characters_in_free_text_do_not_get_a_report_refused() -> None:
    """The hub refuses a control character anywhere (issue 24); a tool's coloured error must not lose the report."""
    failed = Change(key("bad"), Action.ERROR, "helm: \x1b[31merror\x1b[0m\x00")
    outcome = PassReport(
        PassOutcome.FAILED,
        "spoke-a",
        "us-south",
        "agent-0",
        source={"revision": "r" * 40},
        objects=describe_objects(run_of([failed]), None, drift_only=False),
        findings=["policy \x07 finding"],
        error="line one\n\tline two \x1b[1mbold\x1b[0m",
        rollout={"revision": "r2", "reason": "held\x00"},
    )
    parsed = ReportIn.model_validate(outcome.to_report())
    assert parsed.error == "line one\n\tline two \ufffd[1mbold\ufffd[0m"  # tabs and line breaks stay
    assert "\x1b" not in parsed.objects[0].message and "\x07" not in parsed.findings[0]
