"""Helm hooks read off their annotations, hook outcomes, and the order of sources (dependsOn) - no cluster needed."""

from __future__ import annotations

from typing import Any

from razee.kube.hookrun import ended
from razee.kube.hooks import POST, PRE, content_of, hook_of, source_id
from razee.objects import Origin, Provenance
from razee.plan.order import source_waves


def obj(
    annotations: dict[str, str], kind: str = "Job", api: str = "batch/v1", status: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": "x", "annotations": annotations},
        "status": status or {},
    }


def test_hook_annotations_are_read_as_helm_does() -> None:
    hook = hook_of(
        obj(
            {
                "helm.sh/hook": "pre-install, pre-upgrade",
                "helm.sh/hook-weight": "-5",
                "helm.sh/hook-delete-policy": "hook-succeeded",
            }
        )
    )
    assert hook is not None
    assert hook.events == {"pre-install", "pre-upgrade"} and hook.weight == -5
    assert hook.phase(install=True) == PRE and hook.phase(install=False) == PRE
    assert not hook.deleted_before_creation  # a policy is named, and it is not before-hook-creation
    assert hook_of(obj({})) is None


def test_install_and_upgrade_hooks_run_only_at_their_event() -> None:
    post_install = hook_of(obj({"helm.sh/hook": "post-install"}))
    assert post_install is not None
    assert post_install.phase(install=True) == POST
    assert post_install.phase(install=False) is None
    assert post_install.deleted_before_creation  # Helm's default when no policy is named
    delete = hook_of(obj({"helm.sh/hook": "pre-delete"}))
    assert delete is not None and delete.phase(True) is None and delete.phase(False) is None


def test_hook_outcomes() -> None:
    complete = {"conditions": [{"type": "Complete", "status": "True"}]}
    failed = {
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "DeadlineExceeded",
                "message": "Job was active longer than specified deadline",
            }
        ]
    }
    assert ended(obj({}, status=complete)) == (True, "")
    ok, why = ended(obj({}, status=failed))
    assert ok is False and "DeadlineExceeded" in why
    assert ended(obj({}, status={"active": 1}))[0] is None
    assert ended(obj({}, kind="Pod", api="v1", status={"phase": "Succeeded"})) == (True, "")
    assert ended(obj({}, kind="Pod", api="v1", status={"phase": "Failed"}))[0] is False
    assert ended(obj({}, kind="Pod", api="v1", status={"phase": "Running"}))[0] is None
    assert ended(obj({}, kind="ConfigMap", api="v1")) == (True, "")


def test_source_ids_and_contents() -> None:
    origin = Origin("HelmChart", "cert-manager", "cert-manager/templates/x.yaml")
    assert source_id(Provenance("t.yaml", 1, 1)) is None
    assert source_id(Provenance("t.yaml", 1, 1, origin=origin)) == "HelmChart.cert-manager"
    assert source_id(Provenance("t.yaml", 1, 1, cluster="c/1", origin=origin)) == "HelmChart.cert-manager.c_1"
    assert content_of([("a", "1"), ("b", "2")]) == content_of([("b", "2"), ("a", "1")])
    assert content_of([("a", "1")]) != content_of([("a", "2")])


def test_sources_apply_in_waves_after_what_they_depend_on() -> None:
    waves, cycle = source_waves({"": set(), "app": {"db", "cert"}, "db": set(), "cert": set(), "web": {"app"}})
    assert waves == [["", "cert", "db"], ["app"], ["web"]] and cycle == []
    waves, cycle = source_waves({"": set(), "a": {"b"}, "b": {"a"}})
    assert waves == [[""], ["a", "b"]] and cycle == ["a", "b"]
    waves, _ = source_waves({"": set(), "a": {"gone"}})  # an unknown name holds nothing (validate refuses it)
    assert waves == [["", "a"]]
