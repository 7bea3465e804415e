"""Pure helpers of the engine's second round (#23): field pointers, CEL rules, removed APIs, group aliases."""

from __future__ import annotations

from razee.kube.crdcel import cel_problems, unsupported_rules
from razee.kube.fieldowners import handover_patch, keep_handed, owned_by, pointer_problem, without
from razee.kube.removedapis import not_served
from razee.kube.serverfields import drop_server_owned, server_owned
from razee.objects import ObjectKey, aliases, canonical

LIVE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "armada",
        "managedFields": [
            {"manager": "razee", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}, "f:paused": {}}}},
            {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {"f:minReadySeconds": {}}}},
        ],
    },
    "spec": {"replicas": 3, "paused": False, "minReadySeconds": 5},
}


def test_ignored_fields_are_left_out_and_handed_over_at_their_live_values() -> None:
    assert without(LIVE, ["/spec/replicas", "/spec/nothing", "/nowhere/x"])["spec"] == {
        "paused": False,
        "minReadySeconds": 5,
    }
    assert owned_by(LIVE, "razee", "/spec/replicas") and not owned_by(LIVE, "razee", "/spec/minReadySeconds")
    patch = handover_patch(LIVE, "razee", ["/spec/replicas", "/spec/minReadySeconds"])
    assert patch == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "armada"},
        "spec": {"replicas": 3},
    }
    assert handover_patch(LIVE, "razee", ["/spec/minReadySeconds"]) is None
    after = {"spec": {"replicas": 1, "paused": False}}
    keep_handed(after, patch)
    assert after == {"spec": {"replicas": 3, "paused": False}}


def test_pointers_through_lists_or_the_name_are_refused() -> None:
    assert pointer_problem("/spec/replicas") is None and pointer_problem("/data/a~1b") is None
    assert "list index" in str(pointer_problem("/spec/template/spec/containers/0/image"))
    assert "names the object itself" in str(pointer_problem("/metadata/name"))
    assert "not a JSON pointer" in str(pointer_problem("spec.replicas"))


def test_cel_rules_are_evaluated_where_they_stand_and_unsupported_ones_named() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-validations": [
                    {"rule": "self.size <= self.max", "message": "too big"},
                    {"rule": "self.size != oldSelf.size"},
                ],
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "x-kubernetes-validations": [
                                {"rule": "self.name.startsWith('x')"},
                                {"rule": "self.name.lowerAscii() == self.name"},
                            ],
                        },
                    }
                },
            }
        },
    }
    obj = {"spec": {"size": 3, "max": 2, "items": [{"name": "xa"}, {"name": "b"}]}}
    assert cel_problems(obj, schema) == ["spec: too big", "spec.items[1]: failed rule: self.name.startsWith('x')"]
    notes = unsupported_rules(schema)
    assert any("transition rule (oldSelf)" in n for n in notes)
    assert any("uses lowerAscii, which razee's CEL evaluator lacks" in n for n in notes)


def test_removed_apis_name_the_release_and_the_replacement() -> None:
    assert not_served("extensions/v1beta1", "Ingress") == (
        "Ingress extensions/v1beta1 is no longer served: Kubernetes 1.22 removed it; use apiVersion: "
        "networking.k8s.io/v1"
    )
    assert "Kubernetes 1.25 removed it; use apiVersion: policy/v1" in not_served(
        "policy/v1beta1", "PodDisruptionBudget"
    )
    assert "Pod Security admission" in not_served("policy/v1beta1", "PodSecurityPolicy")
    assert "no CustomResourceDefinition of this pass declares it" in not_served("example.com/v1", "Gadget")


def test_group_aliases_are_per_kind() -> None:
    event = ObjectKey("events.k8s.io", "Event", "armada", "e")
    assert canonical(event) == canonical(event._replace(group=""))
    assert aliases(ObjectKey("", "ConfigMap", "armada", "c")) == [ObjectKey("", "ConfigMap", "armada", "c")]
    assert ObjectKey("networking.k8s.io", "Ingress", "a", "i") in aliases(ObjectKey("extensions", "Ingress", "a", "i"))


def test_server_owned_fields_are_found_and_dropped() -> None:
    obj = {"kind": "Service", "metadata": {"name": "s", "uid": "u", "resourceVersion": "1"}, "status": {}}
    assert server_owned(obj) == ["status", "metadata.resourceVersion", "metadata.uid"]
    drop_server_owned(obj)
    assert obj == {"kind": "Service", "metadata": {"name": "s"}}
