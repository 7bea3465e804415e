"""The agent's credentials Secret in the spoke, and the pod-template stamp that restarts the agent on a new token.

Both are written by server-side apply with their own field manager (`razee-bootstrap`), so the agent's own
applies (field manager `razee`) never fight over them, and an unchanged write changes nothing. Values are read and
written here only; nothing in this module prints or logs them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from razee.bootstrap.agent_objects import AGENT, NAMESPACE
from razee.kube.client import Kube
from razee.kube.discovery import Discovery
from razee.kube.errors import NotFound
from razee.objects import Manifest

FIELD_MANAGER = "razee-bootstrap"
APPLY_PATCH = "application/apply-patch+yaml"
TOKEN_ID_ANNOTATION = "razee.io/hub-token-id"
KEYS = {"hub_token": "hub-token", "hub_token_id": "hub-token-id", "git_token": "git-token"}


@dataclass(frozen=True)
class Credentials:
    hub_token: str | None = None
    hub_token_id: str | None = None
    git_token: str | None = None

    def __repr__(self) -> str:  # never show the values, even in a traceback
        return f"Credentials(hub_token_id={self.hub_token_id!r}, git_token={'set' if self.git_token else 'unset'})"


def _path(name: str) -> str:
    return f"/api/v1/namespaces/{NAMESPACE}/secrets/{name}"


def _read(kube: Kube, name: str) -> dict[str, Any] | None:
    try:
        obj: dict[str, Any] = kube.request("GET", "GET", _path(name))
    except NotFound:
        return None
    return obj


def read_credentials(kube: Kube, name: str) -> Credentials:
    obj = _read(kube, name) or {}
    data = obj.get("data") or {}
    values = {attr: base64.b64decode(data[key]).decode() for attr, key in KEYS.items() if data.get(key)}
    return Credentials(**values)


def apply_credentials(kube: Kube, name: str, spoke: str, creds: Credentials) -> bool:
    """Write the Secret (only the keys that have values); returns whether it changed."""
    before = (_read(kube, name) or {}).get("metadata", {}).get("resourceVersion")
    data = {
        key: base64.b64encode(str(getattr(creds, attr)).encode()).decode()
        for attr, key in KEYS.items()
        if getattr(creds, attr)
    }
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"app": AGENT, "razee.io/spoke": spoke},
            "annotations": {TOKEN_ID_ANNOTATION: creds.hub_token_id or ""},
        },
        "data": data,
    }
    after = kube.request(
        "APPLY", "PATCH", _path(name), {"fieldManager": FIELD_MANAGER, "force": "true"}, body, APPLY_PATCH
    )
    return bool(before != (after or {}).get("metadata", {}).get("resourceVersion"))


def stamp_token(kube: Kube, discovery: Discovery, workload: Manifest, token_id: str) -> None:
    """Put the token's id on the workload's pod template: a new id rolls the pods, the same id changes nothing."""
    res = discovery.resource(workload.api_version, workload.kind)
    body = {
        "apiVersion": workload.api_version,
        "kind": workload.kind,
        "metadata": {"name": workload.name, "namespace": workload.namespace},
        "spec": {"template": {"metadata": {"annotations": {TOKEN_ID_ANNOTATION: token_id}}}},
    }
    kube.request(
        "APPLY",
        "PATCH",
        res.object_path(workload.namespace, workload.name),
        {"fieldManager": FIELD_MANAGER, "force": "true"},
        body,
        APPLY_PATCH,
    )
