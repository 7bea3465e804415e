"""Reading a hub's API from the CLI, with one error mapping for every way a request can fail.

`--hub` may list several URLs, comma-separated (hubs in different places): each request goes to the first that
works (razee/hubs.py), so a person can ask while one of them is down.
"""

from __future__ import annotations

from typing import Any

import httpx

from razee.errors import ServiceError, UsageError
from razee.hubs import Hubs, HubsUnavailable, parse_hubs


def request(method: str, hub: str, token: str | None, path: str, params: dict[str, Any] | None = None) -> Any:
    """One call to the hub's API; every way it can fail becomes a RazeeError with its exit code."""
    hubs = Hubs(parse_hubs([hub]))
    if not token:
        raise UsageError("a hub token is required: --token or RAZEE_HUB_TOKEN")
    try:
        with httpx.Client(timeout=15) as http:
            resp = hubs.request(http, method, path,
                                params={k: v for k, v in (params or {}).items() if v is not None},
                                headers={"Authorization": f"Bearer {token}"})
    except HubsUnavailable as e:
        raise ServiceError(f"cannot reach the hub ({e})") from e
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
