"""What every API router shares: who is asking (a Bearer token, never a cookie) and the query parameters' bounds.

Written once so that every route authenticates the same way, before it reads a body or a parameter, and refuses
query parameters it does not know (razee/hub/ingress.py).
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import HTTPException, Query, Request

from razee.hub.auth import Principal, authenticate
from razee.hub.ingress import refuse_unknown_query
from razee.hub.store import Store

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Name = Annotated[str | None, Query(max_length=253)]
Revision = Annotated[str, Query(min_length=1, max_length=64)]


def bearer_principal(
    store: Store,
    refused: Callable[[Request], None] | None = None,
    message: str = "a valid token is required in the Authorization header",
) -> Callable[[Request], Principal]:
    """The dependency that names the caller; `refused` is told of each request turned away (for metrics)."""

    def principal(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        who = authenticate(store, header[7:] if header.lower().startswith("bearer ") else None)
        if who is None:
            if refused is not None:
                refused(request)
            raise HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})
        refuse_unknown_query(request)
        return who

    return principal


def require_admin(who: Principal) -> None:
    if who.role != "admin":
        raise HTTPException(403, "an admin token is required")
