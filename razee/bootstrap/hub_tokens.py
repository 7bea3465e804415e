"""The hub's token API as `razee bootstrap` uses it: create an agent token, check one, revoke one.

Requests go through the one HubClient (razee/hubclient/), so every failure is a RazeeError by the same mapping as
the CLI's: a refused admin token is the user's problem (exit 2), an unreachable or failing hub a service error
(exit 4). Tokens never appear in messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from razee.errors import ServiceError, UsageError
from razee.hubclient import HubClient, HubNotFound, json_of, parse_hubs, shown

TOKENS_PATH = "/api/v1/tokens"
SELF_PATH = "/api/v1/tokens/self"
ADMIN_REQUIRED = "an admin token is required"


@dataclass(frozen=True)
class AgentToken:
    id: str
    token: str


class HubTokens:
    def __init__(self, hub: str, admin_token: str, timeout: float = 15.0) -> None:
        if not admin_token.startswith("rzh_"):
            raise UsageError("the admin token does not look like a hub token (rzh_...)")
        # several, comma-separated: the first that works answers
        self.client = HubClient(parse_hubs([hub]), admin_token, timeout, credential="admin token")

    @property
    def hub(self) -> str:
        return shown(self.client.current)

    def check_admin(self) -> None:
        try:
            resp = self.client.call("GET", SELF_PATH, what="the admin token", hint=ADMIN_REQUIRED)
        except HubNotFound:
            raise ServiceError(f"the hub at {self.hub} has no token API ({SELF_PATH})") from None
        if json_of(resp, SELF_PATH).get("role") != "admin":
            raise UsageError(f"the hub refused the admin token: {ADMIN_REQUIRED}")

    def create_agent_token(self, spoke: str) -> AgentToken:
        try:
            resp = self.client.call(
                "POST",
                TOKENS_PATH,
                json={"role": "agent", "spoke": spoke},
                what="a new agent token",
                hint=ADMIN_REQUIRED,
            )
        except HubNotFound:
            missing = f"the hub at {self.hub} has no token API ({TOKENS_PATH}); is it razee >= 0.1 ?"
            raise ServiceError(missing) from None
        data = json_of(resp, TOKENS_PATH)
        return AgentToken(str(data["id"]), str(data["token"]))

    def agent_token_valid(self, token: str, spoke: str) -> bool:
        """Whether `token` is a live agent token of `spoke` at this hub (a revoked or foreign one is not)."""
        resp = self.client.call("GET", SELF_PATH, token=token, accept=(401,), what="a token")
        if resp.status_code == 401:
            return False
        data = json_of(resp, SELF_PATH)
        return bool(data.get("role") == "agent" and data.get("spoke") == spoke)

    def revoke(self, token_id: str) -> bool:
        resp = self.client.call(
            "DELETE",
            f"{TOKENS_PATH}/{token_id}",
            accept=(404,),
            what=f"the revocation of token {token_id}",
            hint=ADMIN_REQUIRED,
        )
        return resp.status_code != 404
