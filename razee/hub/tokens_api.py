"""Hub tokens over HTTP, for `razee bootstrap`: an admin creates and revokes agent tokens; any token says who it is.

Only admins create or revoke. Over HTTP a token is created for an agent (bound to one spoke) or a reader, never an
admin: a leaked admin token must not mint more admins (`razee hub token create --db` still can, with the
database's credentials). The new token is in the response once and never again; the hub keeps its hash.
"""

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from razee.hub.auth import Principal, create_token, revoke_token
from razee.hub.deps import bearer_principal
from razee.hub.store import Store

_NAME = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["agent", "reader"] = "agent"
    spoke: Annotated[str, Field(pattern=_NAME)] | None = None


def tokens_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])

    principal = bearer_principal(store, message="a valid token is required")

    def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role != "admin":
            raise HTTPException(403, "an admin token is required")
        return who

    # the body is read and parsed only after the token was checked: junk without a token is a 401, never a 422
    @router.post(
        "",
        status_code=201,
        responses={401: {}, 403: {}, 413: {}, 422: {}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": TokenRequest.model_json_schema()}},
            }
        },
    )
    async def create(request: Request, who: Annotated[Principal, Depends(admin)]) -> dict[str, Any]:
        try:
            body = TokenRequest.model_validate_json(await request.body())  # bounded by razee/hub/ingress.py
        except ValidationError as e:
            raise HTTPException(
                422, [{"loc": ["body", *err["loc"]], "msg": err["msg"]} for err in e.errors(include_input=False)[:20]]
            ) from None
        if (body.role == "agent") != bool(body.spoke):
            raise HTTPException(422, "an agent token names its spoke; a reader token does not")
        token, token_id = await run_in_threadpool(create_token, store, body.role, body.spoke)
        return {"id": token_id, "role": body.role, "spoke": body.spoke, "token": token}

    @router.delete("/{token_id}", responses={401: {}, 403: {}, 404: {}})
    async def revoke(
        token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{1,64}$")], who: Annotated[Principal, Depends(admin)]
    ) -> dict[str, Any]:
        if not await run_in_threadpool(revoke_token, store, token_id):
            raise HTTPException(404, f"no token with id {token_id}")
        return {"id": token_id, "revoked": True}

    @router.get("/self", responses={401: {}})
    def whoami(who: Annotated[Principal, Depends(principal)]) -> dict[str, Any]:
        """The presented token's id, role and spoke: lets a tool check a token it holds is still valid."""
        return {"id": who.token_id, "role": who.role, "spoke": who.spoke}

    return router


TOKEN_PATTERN = re.compile(r"^rzh_[0-9a-f]+_[A-Za-z0-9_-]+$")
"""The shape of a hub token, for clients that read one from a file or a Secret."""
