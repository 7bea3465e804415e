"""deploy/: the hub with PostgreSQL and the agent, accepted by a real apiserver's server-side dry run, within the
policy gate (Pod Security Standards restricted, NetworkPolicies, resources), and the agent file in step with the
agent's template."""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Callable
from importlib.machinery import SourceFileLoader
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO, run_razee

DEPLOY = REPO / "deploy"
FILES = ("hub.yaml", "postgres.yaml", "agent.yaml")


def docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def test_agent_file_is_what_the_agent_template_renders() -> None:
    loader = SourceFileLoader("render_deploy_agent", str(REPO / "scripts" / "render-deploy-agent"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    generator = importlib.util.module_from_spec(spec)
    loader.exec_module(generator)
    expected = generator.render()
    stale = "deploy/agent.yaml is stale: run scripts/render-deploy-agent"
    assert (DEPLOY / "agent.yaml").read_text() == expected, stale


def test_the_hub_reads_its_dsn_from_a_secret_and_postgres_its_password() -> None:
    hub = next(d for d in docs("hub.yaml") if d["kind"] == "Deployment")
    env = {e["name"]: e for e in hub["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RAZEE_HUB_DB"]["valueFrom"]["secretKeyRef"] == {"name": "razee-hub-db", "key": "url"}
    pg = next(d for d in docs("postgres.yaml") if d["kind"] == "StatefulSet")
    pg_env = {e["name"]: e for e in pg["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "value" not in pg_env["POSTGRES_PASSWORD"]
    for name in FILES:
        assert not [d for d in docs(name) if d["kind"] == "Secret"], f"{name} ships a Secret"


def test_the_hub_is_ready_only_while_its_database_answers() -> None:
    """Readiness is /readyz (503 while the database is down: tests/integration/test_hub_round2_ingress.py), so a
    replica that lost its database leaves the Service; liveness stays /healthz, so an outage restarts nothing."""
    from razee.hub.api import READY_TIMEOUT

    hub = next(d for d in docs("hub.yaml") if d["kind"] == "Deployment")
    container = hub["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["readinessProbe"]["timeoutSeconds"] > READY_TIMEOUT  # the hub's own answer comes first
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_the_hub_keeps_a_replica_through_voluntary_disruptions() -> None:
    hub = next(d for d in docs("hub.yaml") if d["kind"] == "Deployment")
    pdb = next(d for d in docs("hub.yaml") if d["kind"] == "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"  # policy/v1beta1 is not served since 1.25
    assert pdb["spec"]["selector"] == hub["spec"]["selector"]
    assert pdb["spec"]["maxUnavailable"] < hub["spec"]["replicas"]
    ns = next(d for d in docs("hub.yaml") if d["kind"] == "Namespace")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_server_side_dry_run_accepts_every_object(cluster_factory: Callable[[str], str], tmp_path: Path) -> None:
    kubeconfig = cluster_factory("deploy")
    kubectl = ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", str(tmp_path / "kube-cache")]
    every = [d for name in FILES for d in docs(name)]
    namespaces = [d for d in every if d["kind"] == "Namespace"]
    assert {n["metadata"]["name"] for n in namespaces} == {"razee-hub", "razee-system"}
    made = subprocess.run(
        [*kubectl, "apply", "--server-side", "-f", "-"],
        text=True,
        capture_output=True,
        input="---\n".join(yaml.safe_dump(d) for d in namespaces),
    )
    assert made.returncode == 0, made.stderr
    rest = "---\n".join(yaml.safe_dump(d) for d in every if d["kind"] != "Namespace")
    dry = subprocess.run(
        [*kubectl, "apply", "--server-side", "--dry-run=server", "-f", "-"], input=rest, text=True, capture_output=True
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("serverside-applied (server dry run)") == len(every) - len(namespaces), dry.stdout


def test_hub_and_postgres_pass_the_policy_gate(tmp_path: Path) -> None:
    """Placed in a fleet of one's own (restricted Pod Security), the hub's files validate like any template."""
    fleet = tmp_path / "fleet"
    made = run_razee("init", str(fleet))
    assert made.returncode == 0, made.stderr
    spec_file = fleet / "environments" / "fleet.yaml"
    spec = yaml.safe_load(spec_file.read_text())
    spec["policies"]["allowedRegistries"].append("docker.io/library/postgres:*")
    spec_file.write_text(yaml.safe_dump(spec))
    for name in ("hub.yaml", "postgres.yaml"):
        (fleet / "templates" / "spoke" / f"deploy-{name}.j2").write_text((DEPLOY / name).read_text())
    checked = run_razee("validate", "--repo", str(fleet))
    assert checked.returncode == 0, checked.stdout + checked.stderr
