"""Commit signature verification through git itself (`git verify-commit`), for SSH and GPG signatures.

Trusted keys come as files: an SSH allowed-signers file (`principal key-type key`, as ssh-keygen(1) reads) or
armored GPG public keys. GPG keys are imported into a throwaway keyring, so the user's own keyring is neither
read nor changed.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from razee.errors import SourceError, UsageError

GPG_MARKER = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


class UnsignedRevision(SourceError):
    """The revision is unsigned, or signed by a key that is not trusted."""


def _classify(files: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    ssh: list[Path] = []
    gpg: list[Path] = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot read trusted keys file {f}: {e.strerror}") from e
        (gpg if GPG_MARKER in text else ssh).append(f)
    return ssh, gpg


def verify_commit(repo: Path, rev: str, trusted: Sequence[Path]) -> str:
    """The verified commit id of `rev`; raises UnsignedRevision unless a trusted key signed it."""
    if not trusted:
        raise UsageError("--require-signed needs at least one --trusted-keys file")
    ssh, gpg = _classify(trusted)
    with tempfile.TemporaryDirectory(prefix="razee-verify-") as tmp:
        env = {**os.environ, "GNUPGHOME": os.path.join(tmp, "gnupg"), "GIT_CONFIG_NOSYSTEM": "1"}
        os.makedirs(env["GNUPGHOME"], mode=0o700)
        for key in gpg:
            _run(["gpg", "--batch", "--quiet", "--import", str(key)], repo, env, "import GPG key")
        try:
            return _verify(repo, rev, ssh, env, tmp)
        finally:
            if gpg:  # gpg may have started an agent for the throwaway keyring; do not leave it behind
                subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True, check=False)


def _verify(repo: Path, rev: str, ssh: list[Path], env: dict[str, str], tmp: str) -> str:
    allowed = os.path.join(tmp, "allowed_signers")
    with open(allowed, "w", encoding="utf-8") as out:
        for f in ssh:
            out.write(f.read_text(encoding="utf-8").rstrip("\n") + "\n")
    commit = _run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], repo, env, "resolve revision").strip()
    proc = subprocess.run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", "--raw", commit],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        unsigned = not proc.stderr.strip() or "no signature" in proc.stderr.lower()
        why = "it is not signed" if unsigned else "its signature is not from a trusted key"
        raise UnsignedRevision(f"refusing revision {rev} ({commit[:12]}): {why}")
    return commit


def _run(args: list[str], repo: Path, env: dict[str, str], what: str) -> str:
    proc = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SourceError(f"cannot {what}: {proc.stderr.strip()[:300]}")
    return proc.stdout
