"""The client side of the hub: one HubClient for the CLI's hub commands, `razee bootstrap` and the agent.

- urls.py: hub URLs from options, checked, and shown without credentials;
- client.py: HubClient (several URLs with failover, the Bearer token, timeouts, Retry-After);
- errors.py: the one mapping from a hub's answer to razee's errors and exit codes.

It lives beside the server (razee/hub/), never inside it: the client needs httpx and razee.errors, nothing of the
hub's store or routes.
"""

from razee.hubclient.client import HubClient, HubSession, json_of
from razee.hubclient.errors import HubAuthError, HubError, HubNotFound, HubRefused, HubUnavailable
from razee.hubclient.urls import hubs_from, parse_hubs, shown

__all__ = [
    "HubAuthError",
    "HubClient",
    "HubError",
    "HubNotFound",
    "HubRefused",
    "HubSession",
    "HubUnavailable",
    "hubs_from",
    "json_of",
    "parse_hubs",
    "shown",
]
