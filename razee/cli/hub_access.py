"""The CLI's questions to a hub (`razee hub status|drift|rollout`, `razee rollout ...`) through the one HubClient.

`--hub` may list several URLs, comma-separated (hubs in different places): each request goes to the first that
works, so a person can ask while one of them is down. Every failure is a razee error with its exit code
(razee/hubclient/errors.py).
"""

from __future__ import annotations

from typing import Any

from razee.errors import UsageError
from razee.hubclient import HubClient, json_of, parse_hubs

ADMIN_HINT = "this needs an admin token"
"""Said when the hub refuses the token of a request that changes something (pause, resume, approve)."""


def hub_client(hub: str, token: str | None) -> HubClient:
    """The client for `--hub` and `--token`; a usage error for a malformed URL or a missing token."""
    urls = parse_hubs([hub])
    if not token:
        raise UsageError("a hub token is required: --token or RAZEE_HUB_TOKEN")
    return HubClient(urls, token)


def get(hub: str, token: str | None, path: str, params: dict[str, Any] | None = None) -> Any:
    return hub_client(hub, token).get_json(path, params)


def post(hub: str, token: str | None, path: str, params: dict[str, Any] | None = None) -> Any:
    return json_of(hub_client(hub, token).call("POST", path, params=params, hint=ADMIN_HINT), path)
