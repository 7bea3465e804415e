"""The agent's RBAC in the example fleet is enough to reconcile its spoke, and not more than that."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path

from kubernetes import client, config

from tests.conftest import run_razee

SPOKE = "us-south-spoke-1"


def agent_kubeconfig(admin_kubeconfig: str, dest: Path) -> Path:
    """A kubeconfig that authenticates as the razee-agent ServiceAccount (its token secret, as in 1.20)."""
    api = config.new_client_from_config(config_file=admin_kubeconfig)
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + 60
    while True:
        sa = core.read_namespaced_service_account("razee-agent", "razee-system")
        if sa.secrets:
            break
        assert time.monotonic() < deadline, "the token controller never issued a token"
        time.sleep(0.5)
    secret = core.read_namespaced_secret(sa.secrets[0].name, "razee-system")
    token = base64.b64decode(secret.data["token"]).decode()
    admin = json.loads(Path(admin_kubeconfig).read_text())
    admin["users"] = [{"name": "agent", "user": {"token": token}}]
    admin["contexts"][0]["context"]["user"] = "agent"
    dest.write_text(json.dumps(admin))
    api.close()
    return dest


def test_agent_service_account_can_reconcile_and_no_more(cluster_factory: Callable[[str], str],
                                                          tmp_path: Path) -> None:
    admin = cluster_factory("least-privilege")
    common = ["--spoke", SPOKE, "--no-infra", "-q"]
    first = run_razee("apply", *common, "--kubeconfig", admin, cwd=Path("/"))  # bootstrap, as an operator would
    assert first.returncode == 0, first.stderr
    agent = agent_kubeconfig(admin, tmp_path / "agent.kubeconfig")

    again = run_razee("apply", *common, "--kubeconfig", str(agent), cwd=Path("/"))
    assert again.returncode == 0, again.stderr
    diff = run_razee("diff", "--spoke", SPOKE, "--no-infra", "--kubeconfig", str(agent), cwd=Path("/"))
    assert diff.returncode == 0, diff.stdout[-2000:] + diff.stderr

    api = config.new_client_from_config(config_file=str(agent))
    try:
        auth = client.AuthorizationV1Api(api)
        for verb, resource, group, ns in [("create", "pods", "", "kube-system"), ("delete", "nodes", "", None),
                                          ("create", "mutatingwebhookconfigurations",
                                           "admissionregistration.k8s.io", None),
                                          ("impersonate", "users", "", None)]:
            review = auth.create_self_subject_access_review({"spec": {"resourceAttributes": {
                "verb": verb, "resource": resource, "group": group, "namespace": ns}}})
            assert review.status.allowed is False, f"agent may {verb} {resource}"
    finally:
        api.close()
