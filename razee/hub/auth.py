"""Hub tokens: one per agent (bound to its spoke), readers for viewers, admins. Only a hash is stored.

A token is `rzh_<id>_<secret>`. The id finds the row; the secret's SHA-256 is compared in constant time. The
secret has 256 bits of entropy, so a plain hash is enough (no password-style stretching needed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete

from razee.errors import UsageError
from razee.hub.schema import Token, WebSession
from razee.hub.store import Store

Role = Literal["agent", "reader", "admin"]
ROLES: tuple[Role, ...] = ("agent", "reader", "admin")


@dataclass(frozen=True)
class Principal:
    token_id: str
    role: Role
    spoke: str | None

    def can_read(self) -> bool:
        return True

    def can_report_for(self, spoke: str) -> bool:
        return self.role == "agent" and self.spoke == spoke


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(store: Store, role: str, spoke: str | None) -> tuple[str, str]:
    """A new token (shown once) and its id (for revoking)."""
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if (role == "agent") != bool(spoke):
        raise UsageError("an agent token names its spoke (--spoke); reader and admin tokens do not")
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with store.session() as s:
        s.add(Token(id=token_id, secret_hash=_hash(secret), role=role, spoke=spoke, created=time.time(), revoked=False))
    return f"rzh_{token_id}_{secret}", token_id


def revoke_token(store: Store, token_id: str) -> bool:
    """Revoke the token and end its dashboard sessions (on every replica at once: sessions are never cached).

    As a bearer token it stops working in this process at once, in other processes (other hub replicas, or the
    running hub when `razee hub token revoke` wrote the database) within CACHE_SECONDS.
    """
    with store.session() as s:
        row = s.get(Token, token_id)
        if row is None:
            return False
        row.revoked = True
        s.execute(delete(WebSession).where(WebSession.token_id == token_id))
    _verified.clear()
    return True


CACHE_SECONDS = 2.0
"""A verified token is trusted this long without a database read: the bound on a revocation made elsewhere (another
replica, the CLI). Short, since an agent sends a report every few seconds at most: one read per token per 2 s."""
_verified: dict[str, tuple[float, Principal]] = {}


def authenticate(store: Store, presented: str | None) -> Principal | None:
    if not presented or not presented.startswith("rzh_"):
        return None
    key = _hash(presented)  # the cache never holds a token itself
    hit = _verified.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    who = _authenticate(store, presented)
    if who is not None:
        if len(_verified) > 10_000:
            _verified.clear()
        _verified[key] = (time.monotonic(), who)
    return who


def _authenticate(store: Store, presented: str) -> Principal | None:
    try:
        _, token_id, secret = presented.split("_", 2)
    except ValueError:
        return None
    with store.session() as s:
        row = s.get(Token, token_id)
        expected = row.secret_hash if row is not None else _hash("not-a-token")
        ok = hmac.compare_digest(expected, _hash(secret))  # compare even when the id is unknown: same timing
        if row is None or row.revoked or not ok:
            return None
        role = next((r for r in ROLES if r == row.role), None)
        return Principal(row.id, role, row.spoke) if role else None
