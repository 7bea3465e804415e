"""Hub URLs as people give them: repeated and/or comma-separated options, checked before anything starts.

Several URLs are for hubs reached in different ways (another site, another ingress); replicas behind one Service
need one. A URL may carry a user and password, so errors and logs show it through `shown()` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from razee.errors import UsageError

_USERINFO = re.compile(r"(?<=://)[^/@]*@")


def shown(url: str) -> str:
    """A URL as logs and errors may show it: no user or password."""
    return _USERINFO.sub("***@", url)


def parse_hubs(values: Iterable[str], option: str = "--hub") -> tuple[str, ...]:
    """Hub URLs from repeated and/or comma-separated values, in order, duplicates dropped.

    An empty entry, a scheme other than http(s), a URL without a host or with a bad port is a usage error naming
    the entry (without its credentials); nothing else happens.
    """
    urls: list[str] = []
    for value in values:
        for entry in value.split(","):
            url = entry.strip()
            if not url:
                raise UsageError(f"{option}: an empty URL in the list {shown(value)!r}")
            parts = urlsplit(url)
            try:
                parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
            except ValueError:
                raise UsageError(f"{option}: {shown(url)} has an invalid port") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(f"{option}: {shown(url)} is not an http:// or https:// URL with a host")
            url = url.rstrip("/")
            if url not in urls:
                urls.append(url)
    return tuple(urls)


def hubs_from(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Settings' form (None, one URL, "URL,URL" or a sequence) as a tuple of URLs."""
    if value is None:
        return ()
    return parse_hubs([value] if isinstance(value, str) else value)
