"""Hub hardening: a non-root manifest the apiserver accepts, no secret in its storage, lossless migrations."""

from __future__ import annotations

import base64
import secrets
import sqlite3
import subprocess
from pathlib import Path

import yaml
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from razee.agent.core import Agent, AgentSettings
from razee.hub import views
from razee.hub.api import create_app
from razee.hub.auth import create_token
from razee.hub.migrate import MIGRATIONS, upgrade
from razee.hub.store import Page, Store, engine_for
from razee.reconcile import PassOptions
from tests.conftest import REPO
from tests.helpers.agent import FleetRepo


def test_hub_manifest_runs_as_non_root_and_is_accepted(kubeconfig: str, tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all((REPO / "deploy" / "hub.yaml").read_text()))
    deploy = next(d for d in docs if d["kind"] == "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    for c in pod["containers"]:
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
    # the Namespace for real, then a server-side dry run of everything else
    kubectl = ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", str(tmp_path / "kube-cache")]
    subprocess.run(
        [*kubectl, "apply", "--server-side", "-f", "-"],
        check=True,
        input=yaml.safe_dump(docs[0]),
        text=True,
        capture_output=True,
    )
    rest = "---\n".join(yaml.safe_dump(d) for d in docs[1:])
    r = subprocess.run(
        [*kubectl, "apply", "--server-side", "--dry-run=server", "-f", "-"], input=rest, text=True, capture_output=True
    )
    assert r.returncode == 0, r.stderr


def test_canary_secret_never_reaches_the_hub(tmp_path: Path, kubeconfig: str, namespace: str) -> None:
    canary = f"canary-{secrets.token_hex(12)}"
    db = tmp_path / "hub.sqlite"
    store = Store(engine_for(f"sqlite:///{db}"))
    upgrade(store.engine)
    hub = TestClient(create_app(store))
    fleet = FleetRepo(tmp_path, namespace)
    fleet.commit(
        "x",
        template=(
            f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: {namespace}}}\n"
            f"data: {{password: {base64.b64encode(canary.encode()).decode()}}}\n"
        ),
    )
    agent = Agent(
        AgentSettings(
            spoke=fleet.spoke,
            repo=fleet.url,
            kubeconfig=kubeconfig,
            state_dir=tmp_path / "a",
            pass_options=PassOptions(infra=False),
        )
    )
    token = create_token(store, "agent", fleet.spoke)[0]
    for _ in range(2):  # applied, then in sync
        body = agent.run_pass(leader=True).to_report()
        assert hub.post("/api/v1/reports", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 201
    store.engine.dispose()
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("hub.sqlite-*"))
    outbox = b"".join(p.read_bytes() for p in (tmp_path / "a").glob("outbox.sqlite*"))
    for blob in (raw, outbox):
        assert canary.encode() not in blob and base64.b64encode(canary.encode()) not in blob


def test_an_upgrade_keeps_the_data(tmp_path: Path) -> None:
    db = tmp_path / "hub.sqlite"
    engine = engine_for(f"sqlite:///{db}")
    upgrade(engine, "0001")  # a hub database as the first release left it
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO spokes (name, region, agent, last_seen, report_id, result, revision, objects, "
            "drifted, failed, unhealthy) VALUES ('old-spoke', 'eu-de', 'a', 1.0, 'r', 'applied', 'rev', "
            "5, 0, 0, 0)"
        )
        conn.execute(
            "INSERT INTO reports (id, spoke, received, result, revision, body) VALUES "
            "('r', 'old-spoke', 1.0, 'applied', 'rev', '{}')"
        )
    engine.dispose()
    store = Store(engine_for(f"sqlite:///{db}"))
    upgrade(store.engine)  # the new release migrates at start-up: nothing is lost
    spokes = views.spokes(store, Page())["items"]
    assert [(s["spoke"], s["revision"], s["objects"]) for s in spokes] == [("old-spoke", "rev", 5)]
    assert store.history("old-spoke", Page())["items"][0]["id"] == "r"
    assert views.rollout_state(store, "rev").spokes[0].wave == ""  # new column, defaulted
    assert store.history("old-spoke", Page())["items"][0]["bytes"] == 2  # sized by the migration
    with sqlite3.connect(db) as conn:
        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head
