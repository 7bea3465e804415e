"""`razee agent` and `razee diff`/`razee apply` read one state folder by default, so the local provider's
simulated cloud an agent pass built is the one a diff compares with: real CLI processes, a real kube-apiserver."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from tests.conftest import run_razee
from tests.fleetrepo import region_copy, write_repo


def test_agent_once_then_diff_shows_no_infrastructure_to_create(
    tmp_path: Path, kubeconfig: str, namespace: str
) -> None:
    spoke = f"s-{secrets.token_hex(4)}"
    region = region_copy()
    region["spokes"] = [{"name": spoke, "wave": "main"}]
    region["clusters"] = [
        {
            "name": f"{spoke}-c1",
            "spoke": spoke,
            "workerPools": [{"name": "default", "flavor": "b3c.4x16", "sizePerZone": 1, "zones": [region["zones"][0]]}],
        }
    ]
    template = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app, namespace: {namespace}}}\ndata: {{v: '1'}}\n"
    root = write_repo(tmp_path / "fleet", regions=[region], templates={"spoke/app.yaml.j2": template})
    # the defaults only: no --state-dir, no --infra-db; the state folder follows XDG_STATE_HOME (HOME stays clean)
    env = {"XDG_STATE_HOME": str(tmp_path / "xdg-state"), "RAZEE_LOCAL_CLOUD_DELAY": "0"}
    before = run_razee("diff", "--repo", str(root), "--spoke", spoke, "--kubeconfig", kubeconfig, env=env)
    assert before.returncode == 1, before.stderr
    assert "infrastructure (local): 1 create-cluster, 1 create-worker" in before.stdout

    agent = run_razee(
        "agent",
        "--once",
        "--spoke",
        spoke,
        "--repo",
        str(root),
        "--kubeconfig",
        kubeconfig,
        "--identity",
        "once",
        env=env,
    )
    assert agent.returncode == 0, agent.stderr
    report = json.loads(agent.stdout)
    assert report["result"] == "applied" and report["infrastructure"]["done"] == 2, report
    assert (tmp_path / "xdg-state" / "razee" / "local-cloud.sqlite").is_file()

    after = run_razee("diff", "--repo", str(root), "--spoke", spoke, "--kubeconfig", kubeconfig, env=env)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "infrastructure (local): no changes" in after.stdout
    assert "create-cluster" not in after.stdout and "create-worker" not in after.stdout
