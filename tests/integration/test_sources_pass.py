"""Sources through the whole pass, on real parts: a HelmChart declared in a template, from a chart in the fleet
repo and from an HTTP chart repository on loopback, diffed, applied, kept in sync, drift healed and pruned on a
real kube-apiserver; the gate's findings inside a chart naming the chain; `dependsOn` refused at validate; the
agent's pass with its sources, and a chart repository that goes down while a new revision wants a new version."""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyrage
import pytest
from kubernetes import client, config

from razee.kube.client import Kube, load_api_client
from razee.reconcile.expansion import live_spoke
from razee.reconcile.flow import ApplyMode, Intent, reconcile
from razee.reconcile.load import render_spoke
from razee.reconcile.plan import PassOptions, Target
from razee.render.cache import MemoryRenderCache, SpokeBundle
from razee.sources.expand import SourceOptions
from tests.conftest import run_razee
from tests.helpers.agent import FleetRepo
from tests.helpers.sources import IMAGE, ChartServer, chart_server, helm_chart, namespace_template, one_spoke_repo

DECLARING = "templates/spoke/metrics.yaml.j2"
CHAIN = "via HelmChart metrics, armada-metrics/templates/deployment.yaml"


@pytest.fixture
def charts() -> Iterator[ChartServer]:
    with chart_server() as server:
        yield server


def cli(root: Path, *args: str, kubeconfig: str | None = None) -> tuple[int, str, str]:
    """The real CLI on `root`, spoke-a; diff and apply against `kubeconfig`, without infrastructure."""
    target = ["--spoke", "spoke-a", "--kubeconfig", kubeconfig, "--no-infra"] if kubeconfig else []
    proc = run_razee("--no-cache", *args, "--repo", str(root), *target, cwd=root, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def declare(root: Path, namespace: str, spec: dict[str, Any] | None) -> None:
    templates = {"spoke/ns.yaml.j2": namespace_template(namespace)}
    if spec is not None:
        templates["spoke/metrics.yaml.j2"] = helm_chart("metrics", namespace, spec)
    for old in (root / "templates").rglob("*.j2") if (root / "templates").exists() else []:
        old.unlink()
    one_spoke_repo(root, templates)


def apps(kubeconfig: str) -> client.AppsV1Api:
    return client.AppsV1Api(config.new_client_from_config(kubeconfig))


def path_spec(replicas: int = 2) -> dict[str, Any]:
    return {"path": "charts/armada-metrics", "values": {"replicas": replicas, "image": {"repository": IMAGE}}}


def test_a_path_chart_is_diffed_applied_kept_in_sync_healed_and_pruned(
    cluster_factory: Callable[[str], str], tmp_path: Path
) -> None:
    kubeconfig = cluster_factory("sources-path")
    root = tmp_path / "fleet"
    declare(root, "metrics", path_spec())
    code, out, err = cli(root, "diff", kubeconfig=kubeconfig)
    assert code == 1, err
    assert "Deployment.apps metrics/metrics" in out and CHAIN in out
    assert f"{DECLARING} document 1" in out
    assert "HelmChart" not in out.replace("via HelmChart", "")  # the declaration itself is never sent
    assert "PodDisruptionBudget" in out  # the server serves policy/v1: the chart saw the live capabilities
    assert "note: HelmChart metrics: 1 test hook(s) not applied" in err and "test-connection" not in out

    code, _, err = cli(root, "apply", kubeconfig=kubeconfig)
    assert code == 0, err
    deployment = apps(kubeconfig).read_namespaced_deployment("metrics", "metrics")
    assert deployment.spec.replicas == 2
    assert deployment.spec.template.spec.containers[0].image == f"{IMAGE}:v0.7.2"
    assert deployment.metadata.labels["razee.io/inventory"]  # owned like any template object

    code, out, err = cli(root, "diff", kubeconfig=kubeconfig)
    assert code == 0, out + err
    assert "0 to create, 0 to update, 0 to prune" in out

    apps(kubeconfig).patch_namespaced_deployment("metrics", "metrics", {"spec": {"replicas": 7}})
    code, out, err = cli(root, "diff", kubeconfig=kubeconfig)
    assert code == 1 and "Deployment.apps metrics/metrics" in out and CHAIN in out, out + err
    code, _, err = cli(root, "apply", kubeconfig=kubeconfig)
    assert code == 0, err
    assert apps(kubeconfig).read_namespaced_deployment("metrics", "metrics").spec.replicas == 2

    declare(root, "metrics", None)  # the HelmChart leaves the template: its objects are pruned
    code, _, err = cli(root, "apply", kubeconfig=kubeconfig)
    assert code == 0, err
    with pytest.raises(client.ApiException) as gone:
        apps(kubeconfig).read_namespaced_deployment("metrics", "metrics")
    assert gone.value.status == 404


def test_a_chart_from_an_http_repository_applies_and_the_pass_carries_its_source(
    cluster_factory: Callable[[str], str], tmp_path: Path, charts: ChartServer
) -> None:
    kubeconfig = cluster_factory("sources-http")
    root = tmp_path / "fleet"
    spec: dict[str, Any] = {
        "repo": charts.url,
        "chart": "armada-metrics",
        "version": "0.1.0",
        "values": {"replicas": 1, "image": {"repository": IMAGE}},
    }
    declare(root, "metrics", spec)
    code, out, err = cli(root, "diff", "-o", "json", kubeconfig=kubeconfig)
    assert code == 1, err
    plan = json.loads(out)
    plans = plan if isinstance(plan, list) else [plan]
    sources = [s for p in plans for s in p.get("sources", [])]
    digest = "sha256:" + hashlib.sha256((charts.root / "armada-metrics-0.1.0.tgz").read_bytes()).hexdigest()
    assert sources == [
        {
            "name": "metrics",
            "kind": "HelmChart",
            "chart": "armada-metrics",
            "version": "0.1.0",
            "digest": digest,
            "cluster": None,
        }
    ]
    changes = [c for p in plans for c in p["kubernetes"]["changes"]]
    origin = {c["object"]["kind"]: c["source"].get("origin") for c in changes}
    assert origin["Deployment"] == {
        "kind": "HelmChart",
        "name": "metrics",
        "file": "armada-metrics/templates/deployment.yaml",
    }
    assert origin["Namespace"] is None

    result = reconcile(
        root,
        Target("spoke-a", kubeconfig),
        PassOptions(infra=False, sources=SourceOptions(tmp_path / "sources")),
        Intent(ApplyMode.CHANGES, health_wait=None),
    )
    assert result.ok and result.outcome == "applied"
    assert [(s.name, s.chart, s.version, s.digest) for s in result.run.sources] == [
        ("metrics", "armada-metrics", "0.1.0", digest)
    ]
    again = reconcile(
        root,
        Target("spoke-a", kubeconfig),
        PassOptions(infra=False, sources=SourceOptions(tmp_path / "sources")),
        Intent(ApplyMode.CHANGES, health_wait=None),
    )
    assert again.outcome == "in-sync" and again.run.sources == result.run.sources


def test_a_policy_finding_inside_a_chart_names_the_template_the_source_and_the_chart_file(tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    declare(root, "metrics", {"path": "charts/armada-metrics"})  # the chart's default image: registry.k8s.io
    code, out, err = cli(root, "validate")
    assert code == 2, out + err
    text = out + err
    assert f"{DECLARING}:1: " in text  # the declaring template's file and line
    assert (
        "[allowed-registries] Deployment.apps metrics/metrics from HelmChart metrics, "
        "armada-metrics/templates/deployment.yaml"
    ) in text


def test_depends_on_a_cycle_or_an_unknown_name_fails_validate_with_file_and_line(tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    two = (
        "{% for name, other in [('a', 'b'), ('b', 'a')] %}\n---\n"
        "apiVersion: razee.io/v1\nkind: HelmChart\nmetadata: {name: '{{ name }}', namespace: metrics}\n"
        "spec:\n  path: charts/armada-metrics\n  dependsOn: ['{{ other }}', missing]\n{% endfor %}\n"
    )
    one_spoke_repo(root, {"spoke/ns.yaml.j2": namespace_template("metrics"), "spoke/apps.yaml.j2": two})
    code, out, err = cli(root, "validate")
    text = out + err
    assert code == 2, text
    assert "templates/spoke/apps.yaml.j2:2: spec.dependsOn.1: HelmChart a: dependsOn names 'missing'" in text
    assert "templates/spoke/apps.yaml.j2:2: spec.dependsOn: HelmChart a: dependsOn makes a cycle (a -> b -> a)" in text


def test_the_agent_keeps_the_last_good_revision_while_the_chart_repository_is_down(
    tmp_path: Path, namespace: str, kubeconfig: str, charts: ChartServer
) -> None:
    fleet = FleetRepo(tmp_path, namespace)

    def commit(version: str) -> str:
        spec = {
            "repo": charts.url,
            "chart": "armada-metrics",
            "version": version,
            "values": {"replicas": 1, "image": {"repository": IMAGE}},
        }
        return fleet.commit(version, template=helm_chart("metrics", namespace, spec))

    good = commit("0.1.0")
    agent = fleet.agent(tmp_path, kubeconfig)
    first = agent.run_pass(leader=True)
    assert first.result == "applied", first.error
    digest = "sha256:" + hashlib.sha256((charts.root / "armada-metrics-0.1.0.tgz").read_bytes()).hexdigest()
    assert first.sources == [
        {
            "name": "metrics",
            "kind": "HelmChart",
            "chart": "armada-metrics",
            "version": "0.1.0",
            "digest": digest,
            "cluster": None,
        }
    ]  # the report carries the pass's source
    assert (tmp_path / "agent" / "sources" / "blobs").is_dir()  # pulled charts live in the agent's state folder
    live = apps(kubeconfig).read_namespaced_deployment("metrics", namespace)
    assert live.metadata.labels["helm.sh/chart"] == "armada-metrics-0.1.0"

    charts.down()
    newer = commit("0.2.0")  # a version the agent never pulled, while the repository does not answer
    during = agent.run_pass(leader=True)
    assert during.result == "in-sync", during.error
    assert during.source["revision"] == good and newer not in agent.state.rejected
    assert (
        apps(kubeconfig).read_namespaced_deployment("metrics", namespace).metadata.labels["helm.sh/chart"]
        == "armada-metrics-0.1.0"
    )

    charts.up()
    after = agent.run_pass(leader=True)
    assert after.result == "applied" and after.source["revision"] == newer, after.error
    assert [s["version"] for s in after.sources] == ["0.2.0"]
    assert (
        apps(kubeconfig).read_namespaced_deployment("metrics", namespace).metadata.labels["helm.sh/chart"]
        == "armada-metrics-0.2.0"
    )
    shutil.rmtree(tmp_path / "agent", ignore_errors=True)


def test_a_secret_passed_into_a_chart_may_only_come_out_in_a_secret(tmp_path: Path, kubeconfig: str) -> None:
    canary = f"canary-{secrets.token_hex(12)}"
    identity = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "agent.key"
    key_file.write_text(f"{identity}\n")
    root = tmp_path / "fleet"
    leaky = helm_chart("metrics", "metrics", path_spec()).replace(
        "repository: icr.io/armada/metrics-server",
        "repository: icr.io/armada/metrics-server\n      tag: '{{ secrets.db.password }}'",
    )
    one_spoke_repo(root, {"spoke/ns.yaml.j2": namespace_template("metrics"), "spoke/metrics.yaml.j2": leaky})
    plain = tmp_path / "db.yaml"
    plain.write_text(f"password: {canary}\n")
    enc = run_razee("secret", "encrypt", "-r", str(identity.to_public()), str(plain), "db", "--repo", str(root))
    assert enc.returncode == 0, enc.stderr
    proc = run_razee(
        "--no-cache",
        "diff",
        "--repo",
        str(root),
        "--spoke",
        "spoke-a",
        "--kubeconfig",
        kubeconfig,
        "--no-infra",
        cwd=root,
        env={"RAZEE_AGE_IDENTITY": str(key_file)},
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (
        "templates/spoke/metrics.yaml.j2:1: Deployment.apps metrics/metrics contains the value of "
        "secrets.db.password; secret values may only go into a Secret"
    ) in proc.stderr
    assert canary not in proc.stdout + proc.stderr


def test_a_cached_render_with_sources_holds_while_the_chart_and_capabilities_do(
    tmp_path: Path, kubeconfig: str
) -> None:
    root = tmp_path / "fleet"
    declare(root, "metrics", path_spec())
    cache = MemoryRenderCache()
    kube = Kube(load_api_client(kubeconfig, None))
    try:

        def render(live: bool = True) -> SpokeBundle:
            return render_spoke(
                root,
                "spoke-a",
                cache,
                live=live_spoke(kube, kubeconfig) if live else None,
                sources=SourceOptions(tmp_path / "sources"),
            )

        first = render()
        assert first.stamp is not None and first.stamp.live and first.stamp.inputs == ("charts",)
        assert render() is first  # an idle pass: the cached render, its capabilities read again and unchanged
        values = root / "charts" / "armada-metrics" / "values.yaml"
        values.write_text(values.read_text().replace("logLevel: 2", "logLevel: 4"))
        edited = render()
        assert edited is not first
        args = next(m for m in edited.manifests if m.kind == "Deployment").obj["spec"]["template"]["spec"][
            "containers"
        ][0]["args"]
        assert "--v=4" in args
        offline = render(live=False)  # the same inputs, offline: expanded again with the declared kube version
        assert offline is not edited and offline.stamp is not None and not offline.stamp.live
        assert not any(m.kind == "PodDisruptionBudget" for m in offline.manifests)  # helm's default API versions
        assert any(m.kind == "PodDisruptionBudget" for m in edited.manifests)  # the server serves policy/v1
    finally:
        kube.close()


def test_a_chart_many_releases_use_is_read_from_its_repository_once_per_pass(
    tmp_path: Path, charts: ChartServer
) -> None:
    root = tmp_path / "fleet"
    spec: dict[str, Any] = {
        "repo": charts.url,
        "chart": "armada-metrics",
        "version": "0.1.0",
        "values": {"replicas": 1, "image": {"repository": IMAGE}},
    }
    releases = "---\n".join(helm_chart(f"metrics-{i}", f"metrics-{i}", spec) for i in range(6))
    one_spoke_repo(root, {"spoke/metrics.yaml.j2": releases})
    options = SourceOptions(tmp_path / "sources")
    bundle = render_spoke(root, "spoke-a", for_apply=False, sources=options)
    assert sorted(s.name for s in bundle.sources) == [f"metrics-{i}" for i in range(6)]
    assert charts.requests.count("/index.yaml") == 1 and charts.requests.count("/armada-metrics-0.1.0.tgz") == 1

    charts.down()  # the next pass: every release is served from the last good copy
    charts.requests.clear()
    again = render_spoke(root, "spoke-a", for_apply=False, sources=options)
    assert [s.digest for s in again.sources] == [s.digest for s in bundle.sources]
    assert charts.requests == []
