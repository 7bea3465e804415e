"""Reading a hub's API from the CLI, with one error mapping for every way a request can fail."""

from __future__ import annotations

from typing import Any

import httpx

from razee.errors import ServiceError, UsageError


def request(method: str, hub: str, token: str | None, path: str, params: dict[str, Any] | None = None) -> Any:
    """One call to the hub's API; every way it can fail becomes a RazeeError with its exit code."""
    if not token:
        raise UsageError("a hub token is required: --token or RAZEE_HUB_TOKEN")
    try:
        resp = httpx.request(method, hub.rstrip("/") + path,
                             params={k: v for k, v in (params or {}).items() if v is not None},
                             headers={"Authorization": f"Bearer {token}"}, timeout=15)
    except httpx.HTTPError as e:
        raise ServiceError(f"cannot reach the hub at {hub}: {type(e).__name__}") from e
    if resp.status_code in (401, 403):
        needs = "; this needs an admin token" if method != "GET" else ""
        raise UsageError(f"the hub refused the token ({resp.status_code}){needs}")
    if resp.status_code >= 400:
        raise ServiceError(f"the hub answered {resp.status_code} for {path}")
    return resp.json()


def get(hub: str, token: str | None, path: str, params: dict[str, Any] | None = None) -> Any:
    return request("GET", hub, token, path, params)


def post(hub: str, token: str | None, path: str, params: dict[str, Any] | None = None) -> Any:
    return request("POST", hub, token, path, params)
