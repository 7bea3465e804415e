"""Encrypted secrets: decrypted only in memory, and a canary value never reaches any output channel."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import git
import pyrage
from kubernetes import client

from tests.conftest import run_razee
from tests.helpers.engine import Fleet


def make_fleet(tmp_path: Path, kubeconfig: str, namespace: str, canary: str) -> tuple[Fleet, dict[str, str]]:
    identity = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "agent.key"
    key_file.write_text(f"# razee agent\n{identity}\n")
    fleet = Fleet(tmp_path, kubeconfig)
    fleet.write(f"""---
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: {namespace}}}
stringData:
  password: {{{{ secrets.db.password | tojson }}}}
""")
    plain = tmp_path / "db.yaml"
    plain.write_text(f"password: {canary}\n")
    enc = run_razee("secret", "encrypt", "-r", str(identity.to_public()), str(plain), "db", "--repo", str(fleet.root))
    assert enc.returncode == 0, enc.stderr
    plain.unlink()
    assert canary.encode() not in (fleet.root / "environments" / "secrets" / "db.age").read_bytes()
    return fleet, {"RAZEE_AGE_IDENTITY": str(key_file)}


def everything(r: Any) -> str:
    return str(r.stdout) + str(r.stderr)


def test_canary_secret_never_leaks(
    tmp_path: Path, kubeconfig: str, namespace: str, api_client: client.ApiClient
) -> None:
    canary = f"canary-{secrets.token_hex(12)}"
    fleet, env = make_fleet(tmp_path, kubeconfig, namespace, canary)
    base = ["--repo", str(fleet.root), "--spoke", fleet.spoke, "--kubeconfig", kubeconfig, "--no-infra"]
    channels = [
        run_razee("-vv", "diff", *base, env=env),
        run_razee("-vv", "--log-format", "json", "diff", *base, "-o", "json", env=env),
        run_razee("-vv", "apply", *base, env=env),
        run_razee("-vv", "diff", *base, env=env),
        run_razee("render", "--repo", str(fleet.root), env=env),
        run_razee("render", "--repo", str(fleet.root), "-o", "json", env=env),
        run_razee("validate", "--repo", str(fleet.root), env=env),
    ]
    for r in channels:
        assert canary not in everything(r)
    assert channels[2].returncode == 0, channels[2].stderr
    live = client.CoreV1Api(api_client).read_namespaced_secret("db", namespace)
    assert base64.b64decode(live.data["password"]).decode() == canary  # decrypted in memory, applied for real
    shown = run_razee("render", "--repo", str(fleet.root), "--show-secrets", env=env)
    assert canary in shown.stdout  # only when asked for explicitly

    repo = git.Repo.init(fleet.root)
    actor = git.Actor("t", "t@example.com")
    repo.git.add(A=True)
    repo.index.commit("secret", author=actor, committer=actor)
    rotated = f"canary-{secrets.token_hex(12)}"
    (tmp_path / "db2.yaml").write_text(f"password: {rotated}\n")
    recipient = str(
        pyrage.x25519.Identity.from_str(Path(env["RAZEE_AGE_IDENTITY"]).read_text().split()[-1]).to_public()
    )
    run_razee("secret", "encrypt", "-r", recipient, str(tmp_path / "db2.yaml"), "db", "--repo", str(fleet.root))
    repo.git.add(A=True)
    repo.index.commit("rotate", author=actor, committer=actor)
    for fmt in ("text", "json", "markdown"):
        r = run_razee("diff", "--repo", str(fleet.root), "--from", "HEAD~1", "--to", "HEAD", "-o", fmt, env=env)
        assert r.returncode == 1, r.stderr
        assert canary not in everything(r) and rotated not in everything(r)


def test_without_identity_apply_refuses_and_render_uses_placeholders(
    tmp_path: Path, kubeconfig: str, namespace: str
) -> None:
    canary = f"canary-{secrets.token_hex(12)}"
    fleet, _ = make_fleet(tmp_path, kubeconfig, namespace, canary)
    r = fleet.cli("apply")
    assert r.returncode == 2
    assert "environments/secrets/db.age: encrypted secret needs an age identity; set RAZEE_AGE_IDENTITY" in r.stderr
    shown = run_razee("render", "--repo", str(fleet.root), "--show-secrets")
    assert shown.returncode == 0
    assert "razee-encrypted:db.password:" in shown.stdout and canary not in shown.stdout
    wrong = tmp_path / "wrong.key"
    wrong.write_text(f"{pyrage.x25519.Identity.generate()}\n")
    bad = run_razee(
        "diff",
        "--repo",
        str(fleet.root),
        "--spoke",
        fleet.spoke,
        "--kubeconfig",
        kubeconfig,
        "--no-infra",
        env={"RAZEE_AGE_IDENTITY": str(wrong)},
    )
    assert bad.returncode == 2 and "cannot decrypt with the given age identity" in bad.stderr


def test_a_template_that_copies_a_secret_elsewhere_is_refused(tmp_path: Path, kubeconfig: str, namespace: str) -> None:
    canary = f"canary-{secrets.token_hex(12)}"
    fleet, env = make_fleet(tmp_path, kubeconfig, namespace, canary)
    leak = (
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: oops, namespace: {namespace}}}\n"
        "data: {copy: {{ secrets.db.password | tojson }}}\n"
    )
    (fleet.root / "templates" / "spoke" / "leak.yaml.j2").write_text(leak)
    r = run_razee(
        "diff", "--repo", str(fleet.root), "--spoke", fleet.spoke, "--kubeconfig", kubeconfig, "--no-infra", env=env
    )
    assert r.returncode == 2
    assert "contains the value of secrets.db.password; secret values may only go into a Secret" in r.stderr
    assert canary not in everything(r)


def test_decrypted_renders_never_reach_the_render_cache(tmp_path: Path, kubeconfig: str, namespace: str) -> None:
    import os

    canary = f"canary-{secrets.token_hex(12)}"
    fleet, env = make_fleet(tmp_path, kubeconfig, namespace, canary)
    cache = Path(os.environ["RAZEE_CACHE_DIR"])
    base = ["--repo", str(fleet.root), "--spoke", fleet.spoke]
    for r in (
        run_razee("render", *base, env=env),
        run_razee("render", *base, "--show-secrets", env=env),
        run_razee("diff", *base, "--kubeconfig", kubeconfig, "--no-infra", env=env),
    ):
        assert r.returncode in (0, 1), r.stderr
    needles = (canary.encode(), base64.b64encode(canary.encode()))
    for path in cache.rglob("*"):
        if path.is_file():
            assert not any(n in path.read_bytes() for n in needles), path
    assert not list(cache.rglob("*.json"))  # every one of those renders decrypted the secret: none is cached
    placeholders = run_razee("render", *base)  # without the identity: placeholders only, and that may be cached
    assert placeholders.returncode == 0 and canary not in placeholders.stdout
    assert len(list(cache.rglob("*.json"))) == 1
