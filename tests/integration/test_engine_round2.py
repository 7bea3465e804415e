"""The engine's second round against a real kube-apiserver (issue #23, each case by number; two items of #22)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from razee.plan.model import Action
from tests.helpers.engine import RES, Spokes, change_of, cm


@pytest.fixture
def spokes(tmp_path: Path, kubeconfig: str) -> Spokes:
    return Spokes(tmp_path, kubeconfig)


def deployment(
    ns: str,
    name: str,
    extra: str = "",
    meta: str = "",
    replicas: str = "  replicas: 2\n",
    image: str = "icr.io/armada/web:1",
) -> str:
    return f"""---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
{meta}spec:
{replicas}  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: c, image: "{image}", {RES}}}]
{extra}"""


# 1. Server-owned fields never count as drift ---------------------------------------------------------------------


def test_case1_status_block_never_counts_as_drift(spokes: Spokes, namespace: str, api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    svc = f"""---
apiVersion: v1
kind: Service
metadata:
  name: lb
  namespace: {namespace}
  uid: 0b6a4c1e-0000-4000-8000-000000000000
  creationTimestamp: "2024-01-01T00:00:00Z"
  generation: 3
spec:
  ports: [{{port: 80}}]
status:
  loadBalancer:
    ingress: [{{ip: 192.0.2.10}}]
"""
    spokes.write(a=deployment(namespace, "web", "status: {readyReplicas: 1, replicas: 1}\n") + svc)
    plan, result = spokes.apply("a")
    assert result.ok, result.failed
    warned = [w for w in plan.warnings if "dropped: the server owns" in w]
    assert len(warned) == 2 and all("spoke/objects.yaml.j2" in w for w in warned), plan.warnings
    assert any(
        w.startswith(
            f"Service {namespace}/lb: status, metadata.uid, metadata.creationTimestamp, metadata.generation dropped"
        )
        for w in warned
    ), warned
    version = core.read_namespaced_service("lb", namespace).metadata.resource_version
    for _ in range(2):
        plan = spokes.diff("a")
        assert not plan.has_changes, [(c.key, c.reason) for c in plan.changes if c.action != Action.UNCHANGED]
        _, result = spokes.apply("a")
        assert result.ok and not result.applied
    assert core.read_namespaced_service("lb", namespace).metadata.resource_version == version
    assert spokes.cli("a", "diff").returncode == 0


def test_case1_a_pinned_resource_version_is_dropped_with_a_warning(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    spokes.write(a=cm(namespace, "pinned", {"k": "v1"}))
    assert spokes.apply("a")[1].ok
    pinned = cm(namespace, "pinned", {"k": "v2"}, meta='  resourceVersion: "1"\n')
    spokes.write(a=pinned)
    r = spokes.cli("a", "apply")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"ConfigMap {namespace}/pinned: metadata.resourceVersion dropped: the server owns it" in r.stdout
    assert core.read_namespaced_config_map("pinned", namespace).data == {"k": "v2"}
    assert spokes.cli("a", "diff").returncode == 0


# 6. A namespace nobody creates -----------------------------------------------------------------------------------


def test_case6_an_object_in_a_namespace_nobody_creates_is_an_input_error(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    nowhere = f"nowhere-{secrets.token_hex(3)}"
    fresh = f"fresh-{secrets.token_hex(3)}"
    ns_doc = f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {fresh}\n"
    spokes.write(a=ns_doc + cm(fresh, "in-fresh") + cm(namespace, "beside") + cm(nowhere, "lost"))
    plan = spokes.diff("a")
    lost = change_of(plan, "lost")
    assert lost.action == Action.ERROR, lost
    assert f"namespace {nowhere} does not exist" in lost.reason and "spoke/objects.yaml.j2" in lost.reason
    assert change_of(plan, "in-fresh").action == Action.CREATE  # a namespace the pass creates is fine
    r = spokes.cli("a", "diff")
    assert r.returncode == 2 and f"error ConfigMap {nowhere}/lost" in r.stdout
    r = spokes.cli("a", "apply")
    assert r.returncode == 2 and "nothing was changed" in r.stderr
    assert "beside" not in {c.metadata.name for c in core.list_namespaced_config_map(namespace).items}
    assert fresh not in {n.metadata.name for n in core.list_namespace().items}


# 2. A terminating namespace holds back only its own objects ------------------------------------------------------


def test_case2_a_terminating_namespace_holds_only_its_own_objects(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    doomed = f"doomed-{secrets.token_hex(3)}"
    ns_doc = f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {doomed}\n"
    held = "  finalizers: [razee.test/hold]\n"
    spokes.write(a=ns_doc + cm(doomed, "held", meta=held) + cm(namespace, "first"))
    assert spokes.apply("a")[1].ok
    core.delete_namespace(doomed)
    try:
        assert core.read_namespace(doomed).metadata.deletion_timestamp is not None
        spokes.write(
            a=ns_doc
            + cm(doomed, "held", meta=held)
            + cm(doomed, "late")
            + cm(namespace, "first")
            + cm(namespace, "second")
        )
        plan = spokes.diff("a")
        late = change_of(plan, "late")
        assert late.action == Action.TERMINATING and f"waiting for namespace {doomed}" in late.reason, late
        assert change_of(plan, "second").action == Action.CREATE
        assert not plan.has_errors
        r = spokes.cli("a", "diff")
        assert r.returncode == 1, r.stdout + r.stderr
        r = spokes.cli("a", "apply")
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"ConfigMap {doomed}/late: not done: waiting for namespace {doomed}" in r.stderr
        assert core.read_namespaced_config_map("second", namespace).data == {"k": "v"}
    finally:
        core.patch_namespaced_config_map("held", doomed, {"metadata": {"finalizers": None}})


# 5. Exit codes: a server that fails is a remote failure (4), never an input error (2) ----------------------------


def test_case5_a_silent_server_exits_4_and_says_what_it_waits_for(
    spokes: Spokes, namespace: str, tmp_path: Path
) -> None:
    """A server that accepts connections and never answers (a hung apiserver, a black-holed load balancer)."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # the kernel completes the handshakes; nothing ever answers
    try:
        config = json.loads(Path(spokes.kubeconfig).read_text())
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{silent.getsockname()[1]}"
        dead = tmp_path / "silent.kubeconfig"
        dead.write_text(json.dumps(config))
        spokes.kubeconfig = str(dead)
        spokes.write(a=cm(namespace, "x"))
        started = time.monotonic()
        r = spokes.cli("a", "diff")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert r.returncode == 4, (r.returncode, r.stdout, r.stderr)
    assert elapsed < 90, elapsed  # 45 s at most for the request, plus starting Python on a busy machine
    assert "still waiting for https://127.0.0.1:" in r.stderr and "razee gives up after 45 s" in r.stderr
    assert "did not answer within" in r.stderr, r.stderr


def test_case5_a_server_failing_during_planning_exits_4_not_2(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    """The server answers discovery and LISTs, then fails the dry runs (its admission webhook is down): 500."""
    admission = client.AdmissionregistrationV1Api(api_client)
    name = f"razee-test-down-{secrets.token_hex(3)}"
    admission.create_validating_webhook_configuration(
        {  # type: ignore[arg-type]
            "metadata": {"name": name},
            "webhooks": [
                {
                    "name": "down.razee.test",
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                    "failurePolicy": "Fail",
                    "timeoutSeconds": 5,
                    "clientConfig": {"url": "https://127.0.0.1:1/validate"},
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                    "rules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["configmaps"],
                        }
                    ],
                }
            ],
        }
    )
    try:
        spokes.write(a=cm(namespace, "x"))
        r = spokes.cli("a", "diff")
        assert r.returncode == 4, (r.returncode, r.stdout, r.stderr)
        assert "failed calling webhook" in r.stderr
        r = spokes.cli("a", "apply")
        assert r.returncode == 4, (r.returncode, r.stdout, r.stderr)
    finally:
        admission.delete_validating_webhook_configuration(name)


# 3. A CRD change is checked against the custom resources that stay ---------------------------------------------


def widget_crd(group: str, required: str = "", rules: str = "") -> str:
    return f"""---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
{required}{rules}            properties:
              size: {{type: integer}}
              max: {{type: integer}}
              color: {{type: string}}
"""


def widget(group: str, ns: str, name: str, spec: str) -> str:
    return f"---\napiVersion: {group}/v1\nkind: Widget\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {spec}\n"


REQUIRE_COLOR = "            required: [color]\n"
SIZE_RULE = (
    "            x-kubernetes-validations:\n"
    "            - {rule: 'self.size <= self.max', message: 'size must not exceed max'}\n"
)


def test_case3_a_crd_update_that_invalidates_an_unchanged_custom_resource_is_refused(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    group = f"w{secrets.token_hex(3)}.razee.test"
    ext = client.ApiextensionsV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    try:
        spokes.write(a=widget_crd(group) + widget(group, namespace, "plain", "{size: 1}") + cm(namespace, "c"))
        _, result = spokes.apply("a")
        assert result.ok, result.failed
        version = ext.read_custom_resource_definition(f"widgets.{group}").metadata.resource_version
        # (a) the CRD adds a required field; the custom resource stays as it is
        spokes.write(
            a=widget_crd(group, REQUIRE_COLOR)
            + widget(group, namespace, "plain", "{size: 1}")
            + cm(namespace, "c", {"k": "v2"})
        )
        plan = spokes.diff("a")
        crd_change = change_of(plan, f"widgets.{group}")
        assert crd_change.action == Action.ERROR, crd_change
        assert f"{namespace}/plain: spec: 'color' is a required property" in crd_change.reason
        assert "spoke/objects.yaml.j2" in crd_change.reason
        r = spokes.cli("a", "apply")
        assert r.returncode == 2 and "nothing was changed" in r.stderr, r.stderr
        # (b) the same commit also changes the custom resource, still without the field: no half-apply
        spokes.write(
            a=widget_crd(group, REQUIRE_COLOR)
            + widget(group, namespace, "plain", "{size: 2}")
            + cm(namespace, "c", {"k": "v2"})
        )
        plan = spokes.diff("a")
        assert change_of(plan, "plain").action == Action.ERROR
        assert "'color' is a required property" in change_of(plan, "plain").reason
        assert spokes.cli("a", "apply").returncode == 2
        assert ext.read_custom_resource_definition(f"widgets.{group}").metadata.resource_version == version
        assert custom.get_namespaced_custom_object(group, "v1", namespace, "widgets", "plain")["spec"] == {"size": 1}
        assert client.CoreV1Api(api_client).read_namespaced_config_map("c", namespace).data == {"k": "v"}
        # a live custom resource razee keeps (no longer declared, pruning off) counts too
        spokes.write(a=widget_crd(group, REQUIRE_COLOR) + cm(namespace, "c"))
        plan = spokes.diff("a", prune=False)
        assert "(in the cluster; no longer in the fleet repo)" in change_of(plan, f"widgets.{group}").reason
        # the fix: the custom resource gains the field in the same commit
        spokes.write(
            a=widget_crd(group, REQUIRE_COLOR)
            + widget(group, namespace, "plain", "{size: 2, color: red}")
            + cm(namespace, "c")
        )
        _, result = spokes.apply("a")
        assert result.ok and len(result.applied) == 2, result
    finally:
        ext.delete_custom_resource_definition(f"widgets.{group}")


def test_case3_cel_rules_of_a_new_or_changed_crd_are_checked_before_anything_applies(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    group = f"c{secrets.token_hex(3)}.razee.test"
    ext = client.ApiextensionsV1Api(api_client)
    lower = (
        "            x-kubernetes-validations:\n"
        "            - {rule: 'self.size <= self.max', message: 'size must not exceed max'}\n"
        "            - {rule: 'self.color.lowerAscii() == self.color'}\n"
    )
    spokes.write(
        a=widget_crd(group, rules=lower)
        + widget(group, namespace, "big", "{size: 5, max: 2, color: red}")
        + cm(namespace, "c")
    )
    r = spokes.cli("a", "diff")
    assert r.returncode == 2, r.stdout
    assert f"error Widget.{group} {namespace}/big: invalid under the schema of CRD widgets.{group}" in r.stdout
    assert "spec: size must not exceed max" in r.stdout
    assert "uses lowerAscii, which razee's CEL evaluator lacks" in r.stdout  # said, never silently passed
    r = spokes.cli("a", "apply")
    assert r.returncode == 2 and "nothing was changed" in r.stderr
    assert f"widgets.{group}" not in {c.metadata.name for c in ext.list_custom_resource_definition().items}
    try:
        # valid: created; then a CRD update that adds a rule the live object breaks is refused
        spokes.write(a=widget_crd(group) + widget(group, namespace, "big", "{size: 5, max: 2}"))
        assert spokes.apply("a")[1].ok
        spokes.write(a=widget_crd(group, rules=SIZE_RULE) + widget(group, namespace, "big", "{size: 5, max: 2}"))
        plan = spokes.diff("a")
        assert change_of(plan, f"widgets.{group}").action == Action.ERROR
        assert f"{namespace}/big: spec: size must not exceed max" in change_of(plan, f"widgets.{group}").reason
        spokes.write(a=widget_crd(group, rules=SIZE_RULE) + widget(group, namespace, "big", "{size: 2, max: 2}"))
        assert spokes.apply("a")[1].ok
    finally:
        ext.delete_custom_resource_definition(f"widgets.{group}")


# 4. One object declared under two API groups --------------------------------------------------------------------


def test_case4_one_object_under_two_api_groups_is_a_duplicate_naming_both_templates(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    """Event is served as core v1 and as events.k8s.io/v1 on every supported server (Ingress under extensions and
    networking.k8s.io was the same case before 1.22)."""
    core_event = f"""---
apiVersion: v1
kind: Event
metadata: {{name: web.dup, namespace: {namespace}}}
involvedObject: {{apiVersion: v1, kind: ConfigMap, name: web, namespace: {namespace}}}
reason: Probe
message: from-core
type: Normal
"""
    events_event = f"""---
apiVersion: events.k8s.io/v1
kind: Event
metadata: {{name: web.dup, namespace: {namespace}}}
regarding: {{apiVersion: v1, kind: ConfigMap, name: web, namespace: {namespace}}}
reason: Probe
note: from-events
type: Normal
eventTime: "2026-01-01T00:00:00.000000Z"
reportingController: razee-test
reportingInstance: razee-test-1
action: Probe
"""
    spokes.write(a=core_event + cm(namespace, "beside"))
    (spokes.root / "templates" / "spoke" / "events.yaml.j2").write_text(events_event)
    for command in ("validate", "diff"):
        r = spokes.cli("a", command) if command == "diff" else _validate(spokes)
        assert r.returncode == 2, (command, r.stdout, r.stderr)
        out = r.stdout + r.stderr
        assert f"{namespace}/web.dup: also rendered by templates/spoke/" in out, out
        assert "templates/spoke/events.yaml.j2" in out and "templates/spoke/objects.yaml.j2" in out
        assert "the server serves one object under both groups" in out
    events = client.CoreV1Api(api_client).list_namespaced_event(namespace).items
    assert "web.dup" not in {e.metadata.name for e in events}


def _validate(spokes: Spokes) -> Any:
    from tests.conftest import run_razee

    return run_razee("validate", "--repo", str(spokes.root))


# 8. Fields owned by others -----------------------------------------------------------------------------------------


def _managers_of_replicas(apps: client.AppsV1Api, name: str, ns: str) -> set[str]:
    live = apps.read_namespaced_deployment(name, ns)
    return {
        str(m.manager)
        for m in live.metadata.managed_fields or []
        if "f:replicas" in ((m.fields_v1 or {}).get("f:spec") or {})
    }


def test_case8_ignore_fields_leaves_replicas_to_an_autoscaler(
    spokes: Spokes, namespace: str, tmp_path: Path, api_client: client.ApiClient
) -> None:
    import subprocess

    apps = client.AppsV1Api(api_client)
    ignore = "  annotations: {razee.io/ignore-fields: /spec/replicas}\n"
    spokes.write(a=deployment(namespace, "auto"))
    assert spokes.apply("a")[1].ok
    assert _managers_of_replicas(apps, "auto", namespace) == {"razee"}
    # the hand-over: razee stops managing replicas; the live value stays, owned by razee-handover
    spokes.write(
        a=deployment(namespace, "auto", meta=ignore)
        + deployment(namespace, "fresh", meta=ignore, replicas="  replicas: 3\n")
    )
    plan, result = spokes.apply("a")
    assert result.ok, result.failed
    assert change_of(plan, "auto").action == Action.UPDATE
    assert apps.read_namespaced_deployment("auto", namespace).spec.replicas == 2
    assert _managers_of_replicas(apps, "auto", namespace) == {"razee-handover"}
    assert apps.read_namespaced_deployment("fresh", namespace).spec.replicas == 3  # sent on create
    # an autoscaler (Update on the scale subresource, as the HPA does) and another apply manager own it now
    subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            spokes.kubeconfig,
            "--cache-dir",
            str(tmp_path / "kubectl-cache"),
            "-n",
            namespace,
            "scale",
            "deployment/auto",
            "--replicas=5",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert not spokes.diff("a").has_changes
    apps.patch_namespaced_deployment(
        "auto",
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "auto", "namespace": namespace},
            "spec": {"replicas": 4},
        },
        field_manager="hpa-like",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    plan = spokes.diff("a")
    assert not plan.has_changes, [(c.key, c.reason) for c in plan.changes if c.action != Action.UNCHANGED]
    r = spokes.cli("a", "apply")
    assert r.returncode == 0 and "applied 0" in r.stderr, r.stderr
    # razee still manages the rest; a change there keeps the autoscaler's value, as does dropping replicas
    spokes.write(
        a=deployment(namespace, "auto", meta=ignore, image="icr.io/armada/web:2")
        + deployment(namespace, "fresh", meta=ignore, replicas="")
    )
    plan, result = spokes.apply("a")
    assert result.ok and [k.name for k in result.applied] == ["auto"], (result, plan.changes)
    live = apps.read_namespaced_deployment("auto", namespace)
    assert live.spec.replicas == 4 and live.spec.template.spec.containers[0].image == "icr.io/armada/web:2"
    assert apps.read_namespaced_deployment("fresh", namespace).spec.replicas == 3
    assert not spokes.diff("a").has_changes


def test_case8_ignore_fields_refuses_pointers_through_lists(spokes: Spokes, namespace: str) -> None:
    bad = "  annotations: {razee.io/ignore-fields: '/spec/template/spec/containers/0/image'}\n"
    spokes.write(a=deployment(namespace, "listy", meta=bad))
    change = change_of(spokes.diff("a"), "listy")
    assert change.action == Action.ERROR and "goes through a list index" in change.reason


def test_case8_ssa_if_not_present_creates_and_never_updates(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    seed = "  annotations: {razee.io/ssa: IfNotPresent}\n"
    spokes.write(a=cm(namespace, "seed", {"k": "from-fleet"}, meta=seed))
    assert spokes.apply("a")[1].ok
    core.patch_namespaced_config_map("seed", namespace, {"data": {"k": "changed-by-someone"}})
    spokes.write(a=cm(namespace, "seed", {"k": "changed-in-the-fleet"}, meta=seed))
    plan = spokes.diff("a")
    assert not plan.has_changes and "IfNotPresent" in change_of(plan, "seed").reason
    assert spokes.cli("a", "apply").returncode == 0
    assert core.read_namespaced_config_map("seed", namespace).data == {"k": "changed-by-someone"}
    core.delete_namespaced_config_map("seed", namespace)
    plan, result = spokes.apply("a")
    assert change_of(plan, "seed").action == Action.CREATE and result.ok
    assert core.read_namespaced_config_map("seed", namespace).data == {"k": "changed-in-the-fleet"}


# #22. A manifest in an apiVersion the server no longer serves ---------------------------------------------------


def test_issue22_a_removed_api_version_names_the_object_template_and_replacement(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    ingress = f"""---
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {{name: old-ing, namespace: {namespace}}}
spec:
  backend: {{serviceName: web, servicePort: 80}}
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {{name: old-pdb, namespace: {namespace}}}
spec: {{minAvailable: 1, selector: {{matchLabels: {{app: web}}}}}}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {{name: old-cron, namespace: {namespace}}}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: c, image: icr.io/x:1, {RES}}}]
"""
    spokes.write(a=ingress + cm(namespace, "beside"))
    r = spokes.cli("a", "diff")
    assert r.returncode == 2, r.stdout + r.stderr
    for key, text in (
        (
            f"Ingress.extensions {namespace}/old-ing",
            "Ingress extensions/v1beta1 is no longer served: Kubernetes 1.22 removed it; use apiVersion: "
            "networking.k8s.io/v1",
        ),
        (f"PodDisruptionBudget.policy {namespace}/old-pdb", "Kubernetes 1.25 removed it; use apiVersion: policy/v1"),
        (f"CronJob.batch {namespace}/old-cron", "Kubernetes 1.25 removed it; use apiVersion: batch/v1"),
    ):
        line = next(ln for ln in r.stdout.splitlines() if ln.startswith(f"error {key}:"))
        assert text in line and "templates/spoke/objects.yaml.j2 document" in line, line
    r = spokes.cli("a", "apply")
    assert r.returncode == 2 and "nothing was changed" in r.stderr
    assert "beside" not in {
        c.metadata.name for c in client.CoreV1Api(api_client).list_namespaced_config_map(namespace).items
    }


# 7. Smaller points -----------------------------------------------------------------------------------------------


def test_case7_generate_name_says_razee_needs_a_name_and_validate_agrees_with_diff(
    spokes: Spokes, namespace: str
) -> None:
    spokes.write(
        a=f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: job-\n  namespace: {namespace}\n"
        "data: {k: v}\n"
    )
    results = [_validate(spokes), spokes.cli("a", "diff")]
    for r in results:
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert "templates/spoke/objects.yaml.j2:2: metadata.generateName: razee needs metadata.name" in r.stderr
        assert "could never find the object again to compare, update or prune it" in r.stderr


def test_case7_a_kind_list_is_expanded_and_its_items_keep_provenance(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    listed = f"""---
apiVersion: v1
kind: List
items:
- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: one, namespace: {namespace}}}, data: {{k: "1"}}}}
- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: two, namespace: {namespace}}}, data: {{k: "2"}}}}
"""
    spokes.write(a=cm(namespace, "before") + listed)
    plan, result = spokes.apply("a")
    assert result.ok and sorted(k.name for k in result.applied) == ["before", "one", "two"]
    assert str(change_of(plan, "two").source).startswith("templates/spoke/objects.yaml.j2 document 2 item 2")
    core = client.CoreV1Api(api_client)
    assert core.read_namespaced_config_map("two", namespace).data == {"k": "2"}
    assert not spokes.diff("a").has_changes
    spokes.write(a=cm(namespace, "before"))
    _, result = spokes.apply("a")
    assert sorted(k.name for k in result.pruned) == ["one", "two"]


def test_case7_objects_a_failed_pass_never_created_are_not_yet_created_not_missing(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    """A ValidatingAdmissionPolicy that passes dry runs and refuses the real write: the pass fails mid-way."""
    import time

    admission = client.AdmissionregistrationV1Api(api_client)
    core = client.CoreV1Api(api_client)
    name = f"razee-test-real-{secrets.token_hex(3)}"
    admission.create_validating_admission_policy(
        {  # type: ignore[arg-type]
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["configmaps"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "request.dryRun == true || object.metadata.name != 'blocked'",
                        "message": "refused for real",
                    }
                ],
            },
        }
    )
    admission.create_validating_admission_policy_binding(
        {  # type: ignore[arg-type]
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
            },
        }
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # the policy takes a moment to be in force
            try:
                core.create_namespaced_config_map(namespace, {"metadata": {"name": "blocked"}})  # type: ignore[arg-type]
                core.delete_namespaced_config_map("blocked", namespace)
            except client.ApiException:
                break
            assert time.monotonic() < deadline, "the admission policy never took effect"
            time.sleep(1)
        svc = (
            f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: later, namespace: {namespace}}}\n"
            "spec: {ports: [{port: 80}]}\n"
        )
        spokes.write(a=cm(namespace, "blocked") + svc)
        _, result = spokes.apply("a")
        assert [k.name for k, _ in result.failed] == ["blocked"] and "refused for real" in result.failed[0][1]
        plan = spokes.diff("a")
        for obj in ("blocked", "later"):
            change = change_of(plan, obj)
            assert change.action == Action.CREATE and not change.missing, change
            assert change.reason == "not in the cluster", change.reason
    finally:
        admission.delete_validating_admission_policy_binding(name)
        admission.delete_validating_admission_policy(name)
