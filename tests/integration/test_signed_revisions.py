"""`--require-signed`: only commits signed by a trusted SSH or GPG key are read, verified by git itself."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_razee
from tests.fleetrepo import write_repo


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    ).stdout


def ssh_key(tmp: Path, name: str) -> tuple[Path, str]:
    key = tmp / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key, key.with_suffix(".pub").read_text().strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_repo(tmp_path / "fleet")
    git(root, "init", "-q")
    return root


def diff(root: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_razee(
        "diff",
        "--repo",
        str(root),
        "--spoke",
        "spoke-a",
        "--no-kube",
        "--infra-db",
        str(tmp_path / "cloud.sqlite"),
        "--require-signed",
        *extra,
    )


def test_ssh_signatures(repo: Path, tmp_path: Path) -> None:
    trusted, trusted_pub = ssh_key(tmp_path, "ops")
    stranger, _ = ssh_key(tmp_path, "stranger")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"ops@example.com {trusted_pub}\n")

    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "unsigned")
    r = diff(repo, tmp_path, "--trusted-keys", str(allowed))
    assert r.returncode == 2 and "refusing revision HEAD" in r.stderr and "it is not signed" in r.stderr

    sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={stranger}"]
    git(repo, *sign, "commit", "-q", "--allow-empty", "-S", "-m", "signed by a stranger")
    r = diff(repo, tmp_path, "--trusted-keys", str(allowed))
    assert r.returncode == 2 and "its signature is not from a trusted key" in r.stderr

    sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={trusted}"]
    git(repo, *sign, "commit", "-q", "--allow-empty", "-S", "-m", "signed by ops")
    r = diff(repo, tmp_path, "--trusted-keys", str(allowed))
    assert r.returncode == 1, r.stderr  # accepted: the infrastructure of spoke-a is still to be created
    assert "create cluster c1" in r.stdout

    old = diff(repo, tmp_path, "--trusted-keys", str(allowed), "--rev", "HEAD~1")
    assert old.returncode == 2 and "refusing revision HEAD~1" in old.stderr

    (repo / "environments" / "fleet.yaml").write_text((repo / "environments" / "fleet.yaml").read_text() + "\n")
    dirty = diff(repo, tmp_path, "--trusted-keys", str(allowed))
    assert dirty.returncode == 2 and "uncommitted changes" in dirty.stderr

    missing = run_razee("diff", "--repo", str(repo), "--spoke", "spoke-a", "--require-signed")
    assert missing.returncode == 2 and "--require-signed needs --trusted-keys FILE" in missing.stderr


def test_gpg_signatures(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home)}
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Razee Ops <ops@example.com>",
            "ed25519",
            "sign",
            "never",
        ],
        check=True,
        env={**os.environ, **env},
        capture_output=True,
    )
    public = tmp_path / "ops.asc"
    public.write_text(
        subprocess.run(
            ["gpg", "--armor", "--export", "ops@example.com"],
            check=True,
            text=True,
            capture_output=True,
            env={**os.environ, **env},
        ).stdout
    )
    git(repo, "add", "-A")
    git(repo, "-c", "user.signingkey=ops@example.com", "commit", "-q", "-S", "-m", "gpg signed", env=env)
    r = diff(repo, tmp_path, "--trusted-keys", str(public))
    assert r.returncode == 1, r.stderr
    _, other_pub = ssh_key(tmp_path, "other")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"other@example.com {other_pub}\n")
    r = diff(repo, tmp_path, "--trusted-keys", str(allowed))
    assert r.returncode == 2 and "its signature is not from a trusted key" in r.stderr
    subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, **env}, check=False)
