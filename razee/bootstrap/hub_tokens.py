"""The hub's token API as `razee bootstrap` uses it: create an agent token, check one, revoke one.

Every failure becomes a RazeeError: a refused admin token is the user's problem (exit 2), an unreachable or failing
hub a service error (exit 4). Tokens never appear in messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from razee.errors import ServiceError, UsageError
from razee.hubs import Hubs, HubsUnavailable, parse_hubs, shown


@dataclass(frozen=True)
class AgentToken:
    id: str
    token: str


class HubTokens:
    def __init__(self, hub: str, admin_token: str, timeout: float = 15.0) -> None:
        if not admin_token.startswith("rzh_"):
            raise UsageError("the admin token does not look like a hub token (rzh_...)")
        self.hubs = Hubs(parse_hubs([hub]))  # several, comma-separated: the first that works answers
        self.admin_token = admin_token
        self.timeout = timeout

    @property
    def hub(self) -> str:
        return shown(self.hubs.current)

    def _call(self, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            with httpx.Client(timeout=self.timeout) as http:
                return self.hubs.request(http, method, path, json=body, headers={"Authorization": f"Bearer {token}"})
        except HubsUnavailable as e:
            raise ServiceError(f"cannot reach the hub ({e})") from None

    def check_admin(self) -> None:
        resp = self._call("GET", "/api/v1/tokens/self", self.admin_token)
        if resp.status_code == 404:
            raise ServiceError(f"the hub at {self.hub} has no token API (/api/v1/tokens/self)")
        if resp.status_code == 401 or (resp.status_code == 200 and resp.json().get("role") != "admin"):
            raise UsageError("the hub refused the admin token: an admin token is required")
        if resp.status_code != 200:
            raise ServiceError(f"the hub answered {resp.status_code} when asked about the admin token")

    def create_agent_token(self, spoke: str) -> AgentToken:
        resp = self._call("POST", "/api/v1/tokens", self.admin_token, {"role": "agent", "spoke": spoke})
        if resp.status_code in (401, 403):
            raise UsageError(f"the hub refused the admin token ({resp.status_code}): an admin token is required")
        if resp.status_code == 404:
            raise ServiceError(f"the hub at {self.hub} has no token API (/api/v1/tokens); is it razee >= 0.1 ?")
        if resp.status_code != 201:
            raise ServiceError(f"the hub answered {resp.status_code} when asked for an agent token")
        data = resp.json()
        return AgentToken(str(data["id"]), str(data["token"]))

    def agent_token_valid(self, token: str, spoke: str) -> bool:
        """Whether `token` is a live agent token of `spoke` at this hub (a revoked or foreign one is not)."""
        resp = self._call("GET", "/api/v1/tokens/self", token)
        if resp.status_code == 401:
            return False
        if resp.status_code != 200:
            raise ServiceError(f"the hub answered {resp.status_code} when asked about a token")
        data = resp.json()
        return bool(data.get("role") == "agent" and data.get("spoke") == spoke)

    def revoke(self, token_id: str) -> bool:
        resp = self._call("DELETE", f"/api/v1/tokens/{token_id}", self.admin_token)
        if resp.status_code in (401, 403):
            raise UsageError(f"the hub refused the admin token ({resp.status_code}): an admin token is required")
        if resp.status_code == 404:
            return False
        if resp.status_code != 200:
            raise ServiceError(f"the hub answered {resp.status_code} when asked to revoke token {token_id}")
        return True
