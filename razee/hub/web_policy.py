"""How the dashboard decides what a browser request is: served over https or not, and from the hub's own origin.

Behind a TLS ingress the hub sees plain http, so the scheme alone cannot decide the cookie's `Secure` flag. It is
decided, in order, by `--cookie-secure/--no-cookie-secure`; else by `--public-url` (https: Secure); else per request:
https when uvicorn itself serves TLS, or when the peer is one of the `--trusted-proxy` networks and says
`X-Forwarded-Proto: https`. Forwarded headers from anyone else are ignored: any client can write them. uvicorn's own
proxy-header handling (`forwarded_allow_ips`, which trusts 127.0.0.1 by default and rewrites the scheme and the
client address) is switched off by `razee hub serve`, so these settings are the only ones that count.

A sign-in POST must come from the hub's own origin: its `Origin` header (or, without one, its `Referer`'s origin)
must be `--public-url`'s origin, or else the request's own Host (http or https). Browsers send `Origin` with every
POST; a request with neither header comes from a program, not from a page of another site, and is let through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.requests import Request

from razee.errors import UsageError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class WebSettings:
    public_url: str = ""
    """The URL browsers use to reach the hub (`--public-url`); empty: the request's Host is the hub's origin."""
    cookie_secure: bool | None = None
    """`--cookie-secure` (True) or `--no-cookie-secure` (False); None decides from public_url and the request."""
    trusted_proxies: tuple[Network, ...] = field(default_factory=tuple)
    """Peers whose X-Forwarded-Proto is believed (`--trusted-proxy CIDR`)."""


def web_settings(public_url: str | None, cookie_secure: bool | None, proxies: Sequence[str]) -> WebSettings:
    """Settings from the command line, refusing a malformed URL or network with a clear message."""
    url = (public_url or "").rstrip("/")
    if url and (urlsplit(url).scheme not in DEFAULT_PORTS or not urlsplit(url).hostname):
        raise UsageError(f"--public-url {public_url!r}: give http(s)://HOST[:PORT]")
    networks = []
    for cidr in proxies:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError as e:
            raise UsageError(f"--trusted-proxy {cidr!r}: {e}") from None
    return WebSettings(url, cookie_secure, tuple(networks))


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, default ports filled in; None when it is not an http(s) URL."""
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _from_trusted_proxy(settings: WebSettings, request: Request) -> bool:
    peer = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in settings.trusted_proxies)


def is_https(settings: WebSettings, request: Request) -> bool:
    """Whether the browser reached the hub over https, as far as the hub can trust what it is told."""
    if request.url.scheme == "https":
        return True
    if not _from_trusted_proxy(settings, request):
        return False
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https"


def cookie_secure(settings: WebSettings, request: Request) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    if settings.public_url:
        return settings.public_url.startswith("https://")
    return is_https(settings, request)


def same_origin(settings: WebSettings, request: Request) -> bool:
    """Whether a POST came from one of the hub's own pages (see the module's docstring for the rule)."""
    claimed = request.headers.get("origin")
    if claimed is None:
        referer = request.headers.get("referer")
        if referer is None:
            return True  # no browser sends a POST without both
        claimed = referer
    origin = _origin(claimed)  # "null" (a sandboxed frame, a no-referrer page) is no origin: refused
    if origin is None:
        return False
    if settings.public_url:
        return origin == _origin(settings.public_url)
    host = request.headers.get("host", "")
    return any(origin == _origin(f"{scheme}://{host}") for scheme in ("http", "https"))
