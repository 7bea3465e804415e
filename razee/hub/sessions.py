"""Dashboard sessions: signing in makes a row in the hub's database; the browser's cookie holds only its random id.

The cookie is never a token (a token is never a session id, and the API reads tokens only from the Authorization
header), so a copied cookie is worth one session: it ends at sign-out, at expiry, or when its token is revoked.
The id has 256 bits of entropy and only its SHA-256 is stored, so a copy of the database signs nobody in.

Every check reads the database (one primary-key read joined with the token's row) and nothing is cached: a
sign-out or a revocation on any replica ends the session on all of them at the next request.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import delete

from razee.hub.auth import Principal
from razee.hub.schema import Token, WebSession
from razee.hub.store import Store

PREFIX = "rzs_"
"""Session ids start with it, tokens with `rzh_`: neither can be mistaken for the other."""
SESSION_SECONDS = 12 * 3600.0
"""A session's absolute lifetime (12 h, a working day), counted from sign-in; it does not slide with use."""
SIGN_IN_ROLES = ("reader", "admin")


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(store: Store, who: Principal, lifetime: float = SESSION_SECONDS) -> str:
    """A new session for `who` (a reader or admin token); the id is for the cookie and is never stored."""
    assert who.role in SIGN_IN_ROLES
    session_id = PREFIX + secrets.token_urlsafe(32)
    now = time.time()
    with store.session() as s:
        s.execute(delete(WebSession).where(WebSession.expires <= now))  # sign-ins sweep the expired ones
        s.add(
            WebSession(
                id_hash=_hash(session_id), token_id=who.token_id, role=who.role, created=now, expires=now + lifetime
            )
        )
    return session_id


def resolve(store: Store, session_id: str | None) -> Principal | None:
    """Who the session is, while it is unexpired and its token is not revoked; None for anything else."""
    if not session_id or not session_id.startswith(PREFIX) or len(session_id) > 100:
        return None
    with store.session() as s:
        row = s.get(WebSession, _hash(session_id))
        if row is None or row.expires <= time.time():
            return None
        token = s.get(Token, row.token_id)
        if token is None or token.revoked or row.role not in SIGN_IN_ROLES:
            return None
        return Principal(token.id, "admin" if row.role == "admin" else "reader", None)


def end(store: Store, session_id: str | None) -> None:
    """Sign out: the row is gone, so the cookie opens nothing on any replica."""
    if session_id and session_id.startswith(PREFIX):
        with store.session() as s:
            s.execute(delete(WebSession).where(WebSession.id_hash == _hash(session_id)))
