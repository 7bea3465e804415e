"""The rollout's questions and commands: agents ask whether they may apply a revision; admins pause, resume and
approve waves."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from razee.hub import views
from razee.hub.auth import Principal
from razee.hub.deps import Name, Revision, require_admin
from razee.hub.store import Store


def rollout_router(
    store: Store, principal: Callable[[Request], Principal], on_new_revision: Callable[[], None] | None = None
) -> APIRouter:
    router = APIRouter(prefix="/api/v1/rollout")
    Who = Annotated[Principal, Depends(principal)]

    @router.get("/state")
    def rollout_state(who: Who, revision: Revision, spoke: Name = None) -> dict[str, Any]:
        if on_new_revision is not None and who.role == "agent":
            known = store.revision(revision)
            if known is None or (known.declared is None and known.error is None):
                on_new_revision()
        # only a spoke's own agent is told (and recorded) to roll back: the answer is an instruction to it
        asking = spoke if spoke and who.role == "agent" and who.can_report_for(spoke) else None
        return views.rollout_state(store, revision, record=who.role == "agent", spoke=asking).to_wire()

    @router.post("/pause")
    def pause(who: Who) -> dict[str, Any]:
        require_admin(who)
        store.set_paused(f"token {who.token_id}")
        return {"paused": True}

    @router.post("/resume")
    def resume(who: Who) -> dict[str, Any]:
        require_admin(who)
        store.set_paused("")
        return {"paused": False}

    @router.post("/approve")
    def approve(who: Who, revision: Revision, wave: Revision) -> dict[str, Any]:
        require_admin(who)
        full = store.resolve_revision(revision)
        refused = views.approval_refused(store, full, wave)
        if refused:
            raise HTTPException(404, refused)
        store.approve(full, wave, f"token {who.token_id}")
        return {"approved": wave, "revision": full}

    return router
