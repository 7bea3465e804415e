"""Finding and running the `kustomize` binary offline, with an environment of its own.

Offline means: no `git` on its PATH (a remote base cannot be cloned), its HTTP(S) proxy a closed loopback port (a
remote file cannot be fetched), its HOME and plugin folder empty temp folders (no user plugins or config). The
walk (razee.sources.kustomize.walk) refuses remote bases with a clear reason first; this is the second wall.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from razee.errors import UsageError

KUSTOMIZE_ENV = "RAZEE_KUSTOMIZE"
"""Names the kustomize binary to use; otherwise the first `kustomize` on PATH (the image ships
/usr/local/bin/kustomize)."""

NO_PROXY_PORT = "http://127.0.0.1:9"
"""The discard port: nothing listens, so any request kustomize would send off the machine is refused at once."""


def kustomize_path() -> str:
    named = os.environ.get(KUSTOMIZE_ENV)
    if named:
        if not (os.path.isfile(named) and os.access(named, os.X_OK)):
            raise UsageError(f"${KUSTOMIZE_ENV} names {named}, which is not an executable file")
        return named
    found = shutil.which("kustomize")
    if not found:
        raise UsageError(
            f"Kustomization sources need the kustomize binary: put kustomize on PATH or name it in ${KUSTOMIZE_ENV}"
        )
    return found


def kustomize_identity() -> str:
    """Another kustomize binary may build differently: its path, size and mtime are part of every cache key."""
    path = kustomize_path()
    st = os.stat(path)
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def kustomize_env(home: Path) -> dict[str, str]:
    """Only what kustomize needs: an empty PATH folder (no git), a HOME and plugin home of its own, no proxy out."""
    (home / "bin").mkdir(exist_ok=True)
    env = {
        "PATH": str(home / "bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "KUSTOMIZE_PLUGIN_HOME": str(home / "plugins"),
        "HTTP_PROXY": NO_PROXY_PORT,
        "HTTPS_PROXY": NO_PROXY_PORT,
        "http_proxy": NO_PROXY_PORT,
        "https_proxy": NO_PROXY_PORT,
        "NO_PROXY": "",
        "no_proxy": "",
        "GIT_TERMINAL_PROMPT": "0",
    }
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env
