"""The agent's RBAC in the example fleet is enough to reconcile its spoke, and not more than that."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from kubernetes import client, config

from tests.conftest import run_razee

SPOKE = "us-south-spoke-1"


def agent_kubeconfig(admin_kubeconfig: str, dest: Path) -> Path:
    """A kubeconfig that authenticates as the razee-agent ServiceAccount, with a token from the TokenRequest API
    (servers since 1.24 no longer make a token Secret for every ServiceAccount)."""
    api = config.new_client_from_config(config_file=admin_kubeconfig)
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + 60
    while True:
        try:
            answer = core.create_namespaced_service_account_token(
                "razee-agent",
                "razee-system",
                {"spec": {"expirationSeconds": 3600}},  # type: ignore[arg-type]
            )
            break
        except client.ApiException as e:
            assert e.status == 404 and time.monotonic() < deadline, f"no token for razee-agent: {e.status}"
            time.sleep(0.5)
    token = answer.status.token
    admin = json.loads(Path(admin_kubeconfig).read_text())
    admin["users"] = [{"name": "agent", "user": {"token": token}}]
    admin["contexts"][0]["context"]["user"] = "agent"
    dest.write_text(json.dumps(admin))
    api.close()
    return dest


def test_agent_service_account_can_reconcile_and_no_more(cluster_factory: Callable[[str], str], tmp_path: Path) -> None:
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
        for verb, resource, group, ns in [
            ("create", "pods", "", "kube-system"),
            ("delete", "nodes", "", None),
            ("create", "mutatingwebhookconfigurations", "admissionregistration.k8s.io", None),
            ("impersonate", "users", "", None),
        ]:
            review = auth.create_self_subject_access_review(
                {
                    "spec": {
                        "resourceAttributes": {  # type: ignore[arg-type]
                            "verb": verb,
                            "resource": resource,
                            "group": group,
                            "namespace": ns,
                        }
                    }
                }
            )
            assert review.status.allowed is False, f"agent may {verb} {resource}"
    finally:
        api.close()
