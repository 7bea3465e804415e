"""Finding and running the `helm` binary with an environment of its own (never the user's HOME or repositories)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from razee.errors import ServiceError

HELM_ENV = "RAZEE_HELM"
"""Names the helm binary to use; otherwise the first `helm` on PATH (the image ships /usr/local/bin/helm)."""


def helm_path() -> str:
    """The helm binary. Missing, it is the machine's problem, not the revision's: a service error, so an agent
    keeps enforcing its last good revision (and asks again next pass) instead of rejecting a good one."""
    found = os.environ.get(HELM_ENV) or shutil.which("helm")
    if not found:
        raise ServiceError(f"HelmChart sources need the helm binary: put helm on PATH or name it in ${HELM_ENV}")
    return found


def helm_env(home: Path) -> dict[str, str]:
    """The environment helm runs in: its caches, config and data under `home` (a temp folder), no kubeconfig."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_") and k != "KUBECONFIG"}
    env.update(
        HELM_CACHE_HOME=str(home / "cache"),
        HELM_CONFIG_HOME=str(home / "config"),
        HELM_DATA_HOME=str(home / "data"),
        HOME=str(home),
    )
    return env
