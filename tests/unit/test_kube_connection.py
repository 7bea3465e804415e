"""Loading credentials: the common kubeconfig cases directly, the rest through the official client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from razee.errors import UsageError
from razee.kube.connection import DirectConnection, LibraryConnection, connect


def kubeconfig(tmp_path: Path, user: dict[str, Any], cluster: dict[str, Any] | None = None) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "clusters": [
            {"name": "k", "cluster": cluster or {"server": "https://127.0.0.1:6443/", "insecure-skip-tls-verify": True}}
        ],
        "users": [{"name": "u", "user": user}],
        "contexts": [
            {"name": "c", "context": {"cluster": "k", "user": "u"}},
            {"name": "other", "context": {"cluster": "missing", "user": "u"}},
        ],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(doc))
    return str(path)


def test_a_token_kubeconfig_is_read_without_the_official_client(tmp_path: Path) -> None:
    conn = connect(kubeconfig(tmp_path, {"token": "abc"}), None)
    assert isinstance(conn, DirectConnection)
    assert conn.server == "https://127.0.0.1:6443" and conn.auth_headers() == {"Authorization": "Bearer abc"}
    conn.close()


def test_a_token_file_is_read_again(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("one\n")
    conn = connect(kubeconfig(tmp_path, {"tokenFile": str(token)}), None)
    assert conn.auth_headers() == {"Authorization": "Bearer one"}


def test_exec_plugins_go_through_the_official_client(tmp_path: Path) -> None:
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "echo",
            "args": [
                '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",'
                '"status":{"token":"from-exec"}}'
            ],
        }
    }
    conn = connect(kubeconfig(tmp_path, user), None)
    assert isinstance(conn, LibraryConnection)
    assert conn.auth_headers()["authorization"] == "Bearer from-exec"
    conn.close()


def test_unknown_context_and_missing_file_are_usage_errors(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path, {"token": "abc"})
    with pytest.raises(UsageError, match="no cluster named 'missing'"):
        connect(path, "other")
    with pytest.raises(UsageError, match="no context named 'nope'"):
        connect(path, "nope")
    with pytest.raises(UsageError, match="absent: no such file"):
        connect(str(tmp_path / "absent"), None)
    bad_ca = kubeconfig(tmp_path, {"token": "abc"}, {"server": "https://x", "certificate-authority": "/nope.crt"})
    with pytest.raises(UsageError, match="cannot load Kubernetes credentials"):
        connect(bad_ca, None)
