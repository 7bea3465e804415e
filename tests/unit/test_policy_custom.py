"""Fleet-defined CEL rules (`policies.custom`): matching, violations, passes, and every way a rule can fail.

A rule that cannot be compiled, errs or runs too long must be an error naming the rule, never a silent pass.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from razee.fleet.loader import load_fleet
from razee.policy import isolate
from razee.policy.custom import MAX_ERRORS_PER_RULE, bounded, merge_paths, object_paths, prune
from razee.policy.gate import check_policies
from razee.render.renderer import render_spokes
from tests.conftest import run_razee
from tests.fleetrepo import TEMPLATES, fleet_copy, write_repo

TEAM = {
    "name": "require-team-label",
    "match": {"kinds": ["ConfigMap"], "namespaces": ["master-*"]},
    "expression": "has(object.metadata.labels) && 'team' in object.metadata.labels",
    "message": "every workload needs a team label",
}


def _repo(
    tmp_path: Path,
    *rules: dict[str, Any],
    settings: dict[str, Any] | None = None,
    templates: dict[str, str] | None = None,
) -> Path:
    fleet = fleet_copy()
    fleet["policies"]["custom"] = list(rules)
    fleet["policies"]["rules"].update(settings or {})
    return write_repo(tmp_path, fleet=fleet, templates={**TEMPLATES, **(templates or {})})


def _findings(root: Path) -> list[str]:
    fleet = load_fleet(root)
    return [str(f) for f in check_policies(fleet, render_spokes(root, fleet, fleet.spokes()))]


def test_a_violation_names_rule_template_line_and_object(tmp_path: Path) -> None:
    root = _repo(tmp_path, TEAM)
    r = run_razee("validate", "--repo", str(root))
    assert r.returncode == 2 and r.stdout == ""
    for cluster in ("c1", "c2"):
        assert (
            f"templates/cluster/master.yaml.j2:6: [require-team-label] ConfigMap master-{cluster}/master "
            f"(cluster {cluster}): every workload needs a team label"
        ) in r.stderr
    # the match filters: the ConfigMaps in namespace armada and the Namespaces are not the rule's business
    assert "armada/spoke-info" not in r.stderr and "Namespace" not in r.stderr
    assert len(_findings(root)) == 2


def test_a_rule_that_holds_passes(tmp_path: Path) -> None:
    labelled = TEMPLATES["cluster/master.yaml.j2"].replace(
        "  name: master\n", "  name: master\n  labels: {team: armada-core}\n"
    )
    root = _repo(tmp_path, TEAM, templates={"cluster/master.yaml.j2": labelled})
    assert _findings(root) == []
    assert run_razee("validate", "--repo", str(root)).returncode == 0


def test_match_by_kind_and_namespace(tmp_path: Path) -> None:
    never = "false"
    rules: list[dict[str, Any]] = [
        {"name": "all-objects", "expression": never, "message": "m"},
        {"name": "namespaces-only", "match": {"kinds": ["Namespace"]}, "expression": never, "message": "m"},
        {"name": "in-armada", "match": {"namespaces": ["armada"]}, "expression": never, "message": "m"},
        {"name": "no-such-kind", "match": {"kinds": ["DaemonSet"]}, "expression": never, "message": "m"},
    ]
    found = _findings(_repo(tmp_path, *rules))

    def objects(rule: str) -> set[str]:
        return {
            re.sub(r" \(cluster \w+\)", "", f.split(f"[{rule}] ")[1].split(":")[0]) for f in found if f"[{rule}]" in f
        }

    assert objects("namespaces-only") == {"Namespace armada", "Namespace master-c1", "Namespace master-c2"}
    assert objects("in-armada") == {"ConfigMap armada/spoke-info", "ConfigMap armada/allowed-registries"}
    assert objects("no-such-kind") == set()
    assert objects("all-objects") == objects("namespaces-only") | objects("in-armada") | {
        "ConfigMap master-c1/master",
        "ConfigMap master-c2/master",
    }


def test_the_expression_sees_the_spoke(tmp_path: Path) -> None:
    rule = {
        "name": "canary-is-small",
        "match": {"kinds": ["ConfigMap"], "namespaces": ["armada"]},
        "expression": "!has(object.data.replicas) || spoke.wave != 'canary' || "
        "(int(object.data.replicas) <= 1 && spoke.region == 'us-south')",
        "message": "canary spokes run one replica",
    }
    templates = {
        "spoke/base.yaml.j2": TEMPLATES["spoke/base.yaml.j2"].replace(
            "values.replicas | string", "(values.replicas + 1) | string"
        )
    }
    found = _findings(_repo(tmp_path, rule, templates=templates))
    # spoke-a (canary) renders replicas 2 and is refused; spoke-b (main) renders 3 and is not this rule's concern
    assert found == [
        "templates/spoke/base.yaml.j2:6: [canary-is-small] ConfigMap armada/spoke-info: canary spokes run one replica"
    ]


def test_exemptions_and_switching_off_work_as_for_shipped_rules(tmp_path: Path) -> None:
    root = _repo(tmp_path / "a", TEAM, settings={"require-team-label": {"exempt": ["ConfigMap/master-c1/*"]}})
    assert [f for f in _findings(root) if "master-c1" in f] == []
    assert len(_findings(root)) == 1
    root = _repo(tmp_path / "b", TEAM, settings={"require-team-label": {"enabled": False}})
    assert _findings(root) == []


def test_a_rule_that_does_not_compile_is_an_error_naming_it(tmp_path: Path) -> None:
    broken = {**TEAM, "expression": "has(object.metadata.labels && "}
    r = run_razee("validate", "--repo", str(_repo(tmp_path, broken)))
    assert r.returncode == 2
    assert re.search(
        r"environments/fleet\.yaml:\d+: policies\.custom\[0\]: Value error, custom rule "
        r"'require-team-label': expression does not compile: .*Syntax error",
        r.stderr,
    ), r.stderr


def test_a_runtime_error_is_an_error_naming_rule_and_object(tmp_path: Path) -> None:
    missing = {**TEAM, "name": "no-such-field", "expression": "object.metadata.annotations.owner == 'x'"}
    found = _findings(_repo(tmp_path, missing))
    assert len(found) == 2
    assert found[0].startswith(
        "templates/cluster/master.yaml.j2:6: [no-such-field] ConfigMap master-c1/master "
        "(cluster c1): custom rule could not be evaluated: the expression failed: "
    )
    assert "annotations" in found[0]


def test_a_result_that_is_not_a_bool_is_an_error(tmp_path: Path) -> None:
    found = _findings(_repo(tmp_path, {**TEAM, "name": "not-a-bool", "expression": "object.metadata.name"}))
    assert found and all("the expression returned str 'master', not a bool" in f for f in found), found


def test_errors_are_capped_per_rule(tmp_path: Path) -> None:
    objs = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm{i}, namespace: armada}}\n"
        for i in range(MAX_ERRORS_PER_RULE + 5)
    )
    rule = {"name": "always-fails", "match": {"namespaces": ["armada"]}, "expression": "1 / 0 == 1", "message": "m"}
    found = _findings(_repo(tmp_path, rule, templates={"spoke/many.yaml.j2": objs}))
    # each spoke stops evaluating the rule after the cap; both spokes render these same objects (one finding each)
    assert len(found) == MAX_ERRORS_PER_RULE
    assert all("division by zero" in f for f in found)


L17 = str(list(range(17))).replace(" ", "")


def _nested(depth: int, inner: str = "true") -> str:
    expr = inner
    for i in reversed(range(depth)):
        expr = f"{L17}.all(v{i}, {expr})"
    return expr


def test_an_expression_over_the_cpu_limit_is_an_error(tmp_path: Path) -> None:
    slow = {
        "name": "slow",
        "match": {"kinds": ["Namespace"], "namespaces": []},
        "expression": f"object.kind == 'Namespace' && {_nested(5, 'v0 + v1 + v2 + v3 + v4 >= 0')}",
        "message": "m",
    }
    found = _findings(_repo(tmp_path, slow))
    assert found, "a slow rule must not pass"
    assert all(
        re.search(
            r"\[slow\] Namespace \S+( \(cluster c\d\))?: custom rule could not be evaluated: the "
            r"expression took [\d.]+ s of CPU, over the limit of 0.25 s per object",
            f,
        )
        for f in found
    )


def test_a_runaway_expression_is_stopped_and_named(tmp_path: Path) -> None:
    runaway = {
        "name": "runaway",
        "match": {"kinds": ["ConfigMap"], "namespaces": ["armada"]},
        "expression": _nested(8),
        "message": "m",
    }
    root = _repo(tmp_path, runaway)
    fleet = load_fleet(root)
    renders = render_spokes(root, fleet, [fleet.spokes().__next__()])
    started = time.monotonic()
    found = [str(f) for f in check_policies(fleet, renders)]
    assert time.monotonic() - started < isolate.WALL_LIMIT_S + 30
    assert found == [
        "templates/spoke/base.yaml.j2:6: [runaway] ConfigMap armada/spoke-info: custom rule could not "
        f"be evaluated: the expression ran longer than {isolate.WALL_LIMIT_S:g} s and was stopped"
    ]


def test_rule_names_must_be_unique_and_not_shadow_shipped_rules(tmp_path: Path) -> None:
    r = run_razee("validate", "--repo", str(_repo(tmp_path / "a", TEAM, TEAM)))
    assert r.returncode == 2 and "custom rule 'require-team-label' is defined twice" in r.stderr
    root = _repo(tmp_path / "b", {**TEAM, "name": "resources"})
    assert _findings(root) == [
        "environments/fleet.yaml: policies.custom[0].name: custom rule 'resources' has the "
        "name of a shipped rule; choose another"
    ]


def test_settings_may_name_custom_rules_but_not_unknown_ones(tmp_path: Path) -> None:
    root = _repo(tmp_path, TEAM, settings={"require-teams": {"enabled": False}})
    (finding,) = _findings(root)
    assert "unknown policy rule(s) require-teams" in finding and "custom: require-team-label" in finding


def test_only_the_fields_an_expression_reads_are_converted() -> None:
    assert object_paths("has(object.metadata.labels) && object.spec.replicas > 1") == {
        "metadata": {"labels": {}},
        "spec": {"replicas": {}},
    }
    assert object_paths("object.spec.containers.all(c, c.image != '') && object.spec == {}") == {"spec": {}}
    assert object_paths("object.spec.containers.all(c, has(c.resources.limits) && c.ports.all(p, p.hostPort > 0))") == {
        "spec": {"containers": {"[]": {"resources": {"limits": {}}, "ports": {"[]": {"hostPort": {}}}}}}
    }
    assert object_paths("object.spec.containers.exists(c, c == null)") == {"spec": {"containers": {}}}
    assert object_paths("x.object == 1 || object.kind == 'A'") == {"kind": {}}
    assert object_paths("object.metadata.labels.size() > 0") == {"metadata": {"labels": {}}}
    assert object_paths("object.?status.orValue({}) == {}") == {"status": {}}
    assert object_paths("object.spec.containers[0].image == 'x'") == {"spec": {"containers": {}}}
    assert object_paths("size(object) > 2") is None
    assert object_paths("object['spec'] != null") is None
    assert object_paths("spoke.region == 'x'") == {}
    obj = {"kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}}, "spec": {"containers": [{"n": 1}]}}
    paths = merge_paths(object_paths("object.metadata.name == 'p'") or {}, object_paths("object.kind != ''") or {})
    assert prune(obj, paths) == {"kind": "Pod", "metadata": {"name": "p"}}


def test_pruning_never_changes_a_result() -> None:
    """Each expression gives the same answer on the pruned object as on the whole one."""
    import cel

    obj = {
        "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"team": "x", "app": "d"}},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "icr.io/c:1"}]}}},
    }
    for expression in (
        "object.metadata.labels.size() == 2",
        "'team' in object.metadata.labels",
        "object.spec.template.spec.containers.all(c, c.image.startsWith('icr.io/'))",
        "object.spec.replicas == 3 && object.metadata.name.size() == 1",
        "has(object.status) || object.kind == 'Deployment'",
        "object.metadata == {'name': 'd', 'labels': {'team': 'x', 'app': 'd'}}",
        "object.spec.template.spec.containers.all(c, c.name == 'c' && !has(c.ports))",
        "object.spec.template.spec.containers.map(c, c).size() == 1",
        "object.spec.template.spec.containers.exists(c, c == {'name': 'c', 'image': 'icr.io/c:1'})",
        "object.metadata.labels.all(k, k.size() > 2 || object.metadata.labels[k] != '')",
        "object.spec.template.spec.containers.filter(c, c.image.endsWith(':1'))[0].name == 'c'",
    ):
        paths = object_paths(expression)
        assert paths is not None
        pruned = prune(obj, paths)
        assert cel.compile(expression).execute({"object": pruned}) is True, expression


def test_only_rules_of_bounded_cost_run_in_process() -> None:
    import cel

    def is_bounded(expression: str) -> bool:
        return bounded(expression, cel.compile(expression))

    assert is_bounded("has(object.metadata.labels) && 'team' in object.metadata.labels")
    assert is_bounded("object.spec.containers.all(c, c.image.startsWith('icr.io/') && size(c.name) < 64)")
    assert not is_bounded("object.spec.containers.all(c, object.spec.containers.exists(d, d.name == c.name))")
    assert not is_bounded("['a'].map(s, s + s).map(s, s + s).size() > 0")  # chained: doubles at each step


def test_errors_in_the_watched_child_are_reported_too(tmp_path: Path) -> None:
    nested = {
        "name": "nested-fails",
        "match": {"kinds": ["Namespace"]},
        "expression": "[1, 2].all(a, [1, 2].all(b, object.metadata.nope == a + b))",
        "message": "m",
    }
    found = _findings(_repo(tmp_path, nested))
    assert found and all(
        "[nested-fails] Namespace" in f
        and "custom rule could not be evaluated: the expression failed: KeyError: 'nope'" in f
        for f in found
    ), found
