"""Getting a pinned file: from the source cache when its digest is there (no request at all: a server that is down
does not matter once the file was fetched), else over HTTP(S), verified against the pin before it is kept.

A 404 (or another answer that says the file is not there) is the fleet's mistake: an input error. A server that
cannot be reached, fails (5xx), refuses the credentials or throttles (401/403/429) is a service error: the next
pass tries again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from razee.errors import Finding, InputError, ServiceError
from razee.objects import Manifest
from razee.sources.cache import digest_of
from razee.sources.expander import ExpandContext
from razee.sources.remote.spec import RemoteSpec

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""One request: generous, as a busy server answers slowly, yet a pass is not held for minutes."""

MAX_BYTES = 64 << 20
"""64 MiB: a large manifest bundle (a CNI, an operator's CRDs) is a few MB; anything far past that is a mistake."""

UNAVAILABLE = frozenset({401, 403, 408, 429})
"""Answers that say "not now" or "not you" rather than "not there": the service's problem, exit 4."""


class _Unreachable(Exception):
    pass


def fetch(decl: Manifest, spec: RemoteSpec, ctx: ExpandContext) -> bytes:
    """The file's bytes, whose sha256 is the spec's pin; raises before returning anything else."""
    if (cached := ctx.cache.get(spec.digest)) is not None:
        return cached
    try:
        data = _get(decl, spec, ctx)
    except _Unreachable as e:
        raise ServiceError(f"{decl.source.location('spec.url')}: RemoteManifests {decl.name}: {e}") from None
    digest = digest_of(data)
    if digest != spec.digest:
        raise InputError(
            [
                Finding(
                    decl.source.location("spec.sha256"),
                    (
                        f"RemoteManifests {decl.name}: {spec.url} has sha256 {digest.partition(':')[2]}, the spec pins "
                        f"{spec.sha256}: refused, nothing applied"
                    ),
                )
            ]
        )
    ctx.cache.put(data)
    return data


def _auth(url: str, ctx: ExpandContext) -> httpx.Auth | dict[str, str] | None:
    creds = ctx.credentials.by_host.get(urlsplit(url).netloc) or {}
    if "token" in creds:
        return {"Authorization": f"Bearer {creds['token']}"}
    if "username" in creds:
        return httpx.BasicAuth(creds["username"], creds.get("password", ""))
    return None


def _get(decl: Manifest, spec: RemoteSpec, ctx: ExpandContext) -> bytes:
    auth = _auth(spec.url, ctx)
    headers = auth if isinstance(auth, dict) else None
    basic = auth if isinstance(auth, httpx.Auth) else None
    try:
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=True, headers=headers, auth=basic) as client,
            client.stream("GET", spec.url) as resp,
        ):
            if resp.status_code >= 500 or resp.status_code in UNAVAILABLE:
                raise _Unreachable(f"{spec.url} answered {resp.status_code}")
            if resp.status_code != 200:
                raise InputError(
                    [
                        Finding(
                            decl.source.location("spec.url"),
                            (f"RemoteManifests {decl.name}: {spec.url} answered {resp.status_code}: no such file"),
                        )
                    ]
                )
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise InputError(
                        [
                            Finding(
                                decl.source.location("spec.url"),
                                (f"RemoteManifests {decl.name}: {spec.url} is larger than {MAX_BYTES >> 20} MiB"),
                            )
                        ]
                    )
            return bytes(body)
    except httpx.HTTPError as e:
        raise _Unreachable(f"cannot reach {spec.url}: {type(e).__name__}: {e}") from None
